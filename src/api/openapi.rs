//! The published contract: an OpenAPI 3.1 document of every route, generated from the same
//! types the answers are serialised from (`metrics::payload`, `api::bodies`), served at
//! `/api/analytics/openapi.json` for client generators, BI tools and the docs page.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, RefOr, Required, Schema,
};
use utoipa::ToSchema;

use super::bodies::{ErrorBody, Health, Readiness, RecomputeAccepted, RunList, Status};
use crate::materializer::store::RunRecord;
use crate::metrics::facts::tx::CATEGORIES;
use crate::metrics::payload::export::{ExportFormat, ExportType, MetricGroup, MetricReport, ReportType};
use crate::metrics::payload::export::{TransactionsExport, UsersExport};
use crate::metrics::payload::{kpis, overview, revenue, services, transactions, users};
use crate::metrics::Endpoint;
use crate::time::MAX_DAYS;

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/api/analytics/openapi.json";
/// Where the docs page is served.
pub const DOCS_PATH: &str = "/api/analytics/docs";

/// The name of the bearer scheme in the document.
const BEARER: &str = "jwt";

/// Schemas collected while describing operations, each under its type's name.
#[derive(Default)]
struct Schemas(Vec<(String, RefOr<Schema>)>);

impl Schemas {
    /// Registers `T` (and every type it names) and returns a reference to it.
    fn of<T: ToSchema>(&mut self) -> RefOr<Schema> {
        self.0.push((T::name().into_owned(), T::schema()));
        T::schemas(&mut self.0);
        RefOr::Ref(utoipa::openapi::Ref::from_schema_name(T::name()))
    }
}

/// The document, built once per process (it depends on nothing but the code).
pub fn document() -> OpenApi {
    let mut schemas = Schemas::default();
    let mut paths = PathsBuilder::new();
    for endpoint in Endpoint::ALL {
        let body = match endpoint {
            Endpoint::Overview => schemas.of::<overview::Overview>(),
            Endpoint::Transactions => schemas.of::<transactions::Transactions>(),
            Endpoint::Revenue => schemas.of::<revenue::Revenue>(),
            Endpoint::Users => schemas.of::<users::Users>(),
            Endpoint::Services => schemas.of::<services::Services>(),
            Endpoint::Kpis => schemas.of::<kpis::Kpis>(),
        };
        let mut op =
            operation(endpoint.name(), "dashboard", summary(endpoint)).parameters(Some(window_params()));
        if endpoint == Endpoint::Transactions {
            op = op.parameter(query(
                "status",
                "Restrict to one status (`completed` means `success`; `all` or empty: no filter).",
                enum_of(&["success", "completed", "pending", "failed", "all", ""]),
            ));
            let mut kinds: Vec<&str> = CATEGORIES.to_vec();
            kinds.extend(["bills", "crypto", "p2p", "all", ""]);
            op = op.parameter(query("type", "Restrict to a category or a group (`bills`, `crypto` = crypto + gasfee, `p2p` = reference starting `p2p-`; `all` or empty: no filter).", enum_of(&kinds)));
        }
        let op = guarded(op, &mut schemas)
            .response("200", cached_json("The payload.", body))
            .response("304", not_modified());
        paths = paths.path(format!("/api/analytics/{}", endpoint.path()), PathItem::new(HttpMethod::Get, op));
    }
    paths =
        paths.path("/api/analytics/reports/export/", PathItem::new(HttpMethod::Get, export(&mut schemas)));
    paths = paths
        .path("/api/analytics/admin/recompute/", PathItem::new(HttpMethod::Post, recompute(&mut schemas)));
    let runs = schemas.of::<RunList>();
    let runs_op = guarded(operation("admin_runs", "operators", "The newest 50 runs"), &mut schemas)
        .response("200", json("Runs, newest first.", runs));
    paths = paths.path("/api/analytics/admin/runs/", PathItem::new(HttpMethod::Get, runs_op));
    let run = schemas.of::<RunRecord>();
    let run_op = guarded(operation("admin_run", "operators", "One run"), &mut schemas)
        .parameter(path("id", "Run id.", integer(Some(1), None)))
        .response("200", json("The run.", run));
    paths = paths.path("/api/analytics/admin/runs/{id}/", PathItem::new(HttpMethod::Get, run_op));
    let status = schemas.of::<Status>();
    let status_op = guarded(
        operation("admin_status", "operators", "Snapshot ages, next run, last error, databases"),
        &mut schemas,
    )
    .response("200", json("The state of this instance and its databases.", status));
    paths = paths.path("/api/analytics/admin/status/", PathItem::new(HttpMethod::Get, status_op));
    paths = open_routes(paths, &mut schemas);

    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas.0)
        .security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A Django SimpleJWT access token of an active staff user (HS256 with the platform's \
                         signing key, or RS256); `mafita-analytics token` mints one.",
                    ))
                    .build(),
            ),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("mafita-analytics")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "MafitaPay's CEO-dashboard analytics, precomputed into snapshots and served from memory; \
                     a drop-in for the Django analytics endpoints. Money, rates and ratios are JSON numbers \
                     with two decimals; counts are integers; instants are RFC 3339 UTC with microseconds.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .build()
}

fn summary(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Overview => "Headline numbers with trends",
        Endpoint::Transactions => "Transaction volumes, breakdowns and the newest rows",
        Endpoint::Revenue => "Revenue by source, day and month",
        Endpoint::Users => "Users, growth, segmentation and referrers",
        Endpoint::Services => "P2P trading, crypto purchases and bill payments",
        Endpoint::Kpis => "Business KPIs against the previous window",
    }
}

fn operation(id: &str, tag: &str, summary: &str) -> OperationBuilder {
    OperationBuilder::new().operation_id(Some(id)).tag(tag).summary(Some(summary))
}

/// A staff-only operation: the bearer scheme and the error answers every such route can give.
fn guarded(op: OperationBuilder, schemas: &mut Schemas) -> OperationBuilder {
    let error = schemas.of::<ErrorBody>();
    let mut op = op.security(SecurityRequirement::new(BEARER, Vec::<String>::new()));
    for (status, why) in [
        ("400", "A parameter is malformed or out of range; `detail` names it."),
        ("401", "No token, or a token that is invalid or expired (`code: token_not_valid`), or whose user is missing or inactive. Carries `WWW-Authenticate: Bearer`."),
        ("403", "The user is not staff."),
        ("404", "Unknown route."),
        ("405", "Wrong method."),
        ("429", "An admin-triggered run started too recently (`ANALYTICS_ADMIN_MIN_INTERVAL`); `Retry-After` says when."),
        ("503", "Nothing can be served now: a database is unreachable, every on-demand slot stayed busy, or a read ran past `ANALYTICS_STATEMENT_TIMEOUT` (`Retry-After` on the last two)."),
        ("500", "A bug; the cause is logged, never shown."),
    ] {
        op = op.response(status, json(why, error.clone()));
    }
    op
}

fn json(description: &str, schema: RefOr<Schema>) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(schema)).build())
}

/// A 200 of a route with ETags: the body plus the caching headers.
fn cached_json(description: &str, schema: RefOr<Schema>) -> ResponseBuilder {
    let text = || ObjectBuilder::new().schema_type(Type::String);
    json(description, schema)
        .header(
            "ETag",
            HeaderBuilder::new()
                .schema(text())
                .description(Some("Send it back in `If-None-Match` for a 304."))
                .build(),
        )
        .header(
            "X-Analytics-Source",
            HeaderBuilder::new()
                .schema(text().enum_values(Some(["snapshot", "computed"])))
                .description(Some("`snapshot`: a common window from the last run; `computed`: on demand."))
                .build(),
        )
}

fn not_modified() -> ResponseBuilder {
    ResponseBuilder::new().description("Not modified: the `If-None-Match` ETag is current.")
}

fn query(name: &str, description: &str, schema: impl Into<RefOr<Schema>>) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
}

/// A required path parameter.
fn path(name: &str, description: &str, schema: impl Into<RefOr<Schema>>) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(schema))
}

fn integer(min: Option<i64>, max: Option<i64>) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer).minimum(min).maximum(max)
}

fn enum_of(values: &[&str]) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values.iter().map(|v| v.to_string())))
}

fn date() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
}

/// `days` or `date_from`/`date_to` (docs/METRICS.md, "Windows").
fn window_params() -> Vec<utoipa::openapi::path::Parameter> {
    vec![
        query(
            "days",
            "Rolling window `[now − days × 24 h, now)`, default 30; common windows come from the last run's snapshot. Not with the date parameters.",
            integer(Some(1), Some(MAX_DAYS)).default(Some(30.into())),
        )
        .build(),
        query(
            "date_from",
            "First local date of a calendar range (the reporting time zone); alone, the range ends today.",
            date(),
        )
        .build(),
        query(
            "date_to",
            "Last local date of the range, at most today + 1 (which means today); alone, the range is that one day. `date_to − N .. date_to` ending today means `days=N`. Ranges over 3650 days are refused.",
            date(),
        )
        .build(),
    ]
}

fn export(schemas: &mut Schemas) -> OperationBuilder {
    let bodies = OneOfBuilder::new()
        .item(schemas.of::<TransactionsExport>())
        .item(schemas.of::<UsersExport>())
        .item(schemas.of::<MetricReport>());
    let csv = ContentBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::String))).build();
    let ok = ResponseBuilder::new()
        .description("Raw rows or the metric report; `Content-Disposition: attachment` names the file.")
        .content("application/json", ContentBuilder::new().schema(Some(bodies)).build())
        .content("text/csv; charset=utf-8", csv)
        .header(
            "Content-Disposition",
            HeaderBuilder::new().schema(ObjectBuilder::new().schema_type(Type::String)).build(),
        );
    let format = schemas.of::<ExportFormat>();
    let kind = schemas.of::<ExportType>();
    let report_type = schemas.of::<ReportType>();
    schemas.of::<MetricGroup>();
    let op = operation("export", "exports", "Raw rows or the metric report, JSON or CSV")
        .parameter(query("type", "Raw rows: `transactions` (default) or `users` of the window, newest first. Not with `report_type`.", kind))
        .parameter(query("report_type", "The metric report: one row per local day, week (Monday), month, or one for the range (`custom`). Not with `type`.", report_type))
        .parameter(query("format", "`json` (default) or `csv`.", format))
        .parameter(query(
            "metrics",
            "Report groups, comma-separated (default all): transactions, revenue, users, services, kpis.",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^(transactions|revenue|users|services|kpis)(,(transactions|revenue|users|services|kpis))*$")),
        ))
        .parameter(query("limit", "Most raw rows returned (default 1000).", integer(Some(1), Some(1000)).default(Some(1000.into()))))
        .parameters(Some(window_params()));
    guarded(op, schemas).response("200", ok).response("304", not_modified())
}

fn recompute(schemas: &mut Schemas) -> OperationBuilder {
    let accepted = schemas.of::<RecomputeAccepted>();
    let run = schemas.of::<RunRecord>();
    let flag = || enum_of(&["true", "false", "1", "0"]);
    let op = operation("admin_recompute", "operators", "Trigger a run")
        .description(Some(
            "Runs coalesce: a trigger during a run queues at most one follow-up run, on any instance.",
        ))
        .parameter(query("wait", "Wait (up to 60 s) for the run to finish and answer 200 with it.", flag()))
        .parameter(query(
            "full",
            "Rebuild every stored day instead of refreshing the settle window.",
            flag(),
        ));
    guarded(op, schemas)
        .response("200", json("`wait=true`: the finished run.", run))
        .response("202", json("The run started or is queued.", accepted))
}

/// The unauthenticated routes: the console, probes, metrics, this document and its page.
fn open_routes(paths: PathsBuilder, schemas: &mut Schemas) -> PathsBuilder {
    let health = operation("healthz", "probes", "The process is up")
        .response("200", json("Up.", schemas.of::<Health>()));
    let readiness = schemas.of::<Readiness>();
    let ready = operation("readyz", "probes", "Snapshots loaded or the platform database reachable")
        .response("200", json("Ready.", readiness.clone()))
        .response(
            "503",
            json("Not ready: no snapshots and the platform database does not answer.", readiness),
        );
    let text = || ContentBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::String))).build();
    let metrics = operation("metrics", "probes", "Prometheus metrics of this instance").response(
        "200",
        ResponseBuilder::new()
            .description("Prometheus text format 0.0.4.")
            .content("text/plain; version=0.0.4", text()),
    );
    let docs = operation("docs", "contract", "This document as a page (Swagger UI, bundled)")
        .response("200", ResponseBuilder::new().description("The page.").content("text/html", text()));
    let document = operation("openapi", "contract", "This document").response(
        "200",
        ResponseBuilder::new().description("OpenAPI 3.1.").content(
            "application/json",
            ContentBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::Object))).build(),
        ),
    );
    let console =
        operation("admin_console", "operators", "The operator console (sign in with a staff token)")
            .response(
                "200",
                ResponseBuilder::new()
                    .description("The page; it holds no data.")
                    .content("text/html", text()),
            )
            .response("304", not_modified());
    let asset =
        operation("admin_console_asset", "operators", "A script, style sheet or licence of the console")
            .parameter(path("file", "File name.", enum_of(&super::console::asset_names())))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("The file (JavaScript, CSS or text).")
                    .content("text/javascript", text())
                    .content("text/css", text())
                    .content("text/plain", text()),
            )
            .response("304", not_modified())
            .response("404", json("No such file.", schemas.of::<ErrorBody>()));
    paths
        .path(super::console::CONSOLE_PATH, PathItem::new(HttpMethod::Get, console))
        .path(super::console::ASSETS_PATH, PathItem::new(HttpMethod::Get, asset))
        .path("/healthz", PathItem::new(HttpMethod::Get, health))
        .path("/readyz", PathItem::new(HttpMethod::Get, ready))
        .path("/metrics", PathItem::new(HttpMethod::Get, metrics))
        .path(DOCUMENT_PATH, PathItem::new(HttpMethod::Get, document))
        .path(format!("{DOCS_PATH}/"), PathItem::new(HttpMethod::Get, docs))
}
