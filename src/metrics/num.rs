//! Exact numbers and the one place they become JSON.
//!
//! Money stays a [`Decimal`] (summed in SQL as integer kobo) through every derivation; values
//! are rounded once, half away from zero, to two decimals when they are written out.

use rust_decimal::prelude::*;
use serde::{Serialize, Serializer};
use serde_json::Number;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// Money from an integer number of kobo (hundredths of a naira).
pub fn kobo(amount: i64) -> Decimal {
    Decimal::new(amount, 2)
}

/// A count as an exact decimal, for use in quotients.
pub fn dec(count: i64) -> Decimal {
    Decimal::from(count)
}

/// `part / whole`, or 0 when `whole` is 0 (docs/METRICS.md, "Numbers": every zero-denominator quotient is 0).
pub fn quotient(part: Decimal, whole: Decimal) -> Decimal {
    if whole.is_zero() {
        Decimal::ZERO
    } else {
        part.checked_div(whole).unwrap_or(Decimal::ZERO)
    }
}

/// `part / whole × 100`, or 0 when `whole` is 0.
pub fn rate(part: Decimal, whole: Decimal) -> Decimal {
    quotient(part, whole) * Decimal::ONE_HUNDRED
}

/// `(now − prev) / |prev| × 100`, or 0 when `prev` is 0.
pub fn trend(now: Decimal, prev: Decimal) -> Decimal {
    rate(now - prev, prev.abs())
}

/// The change of a rate "in points": the rounded current value minus the rounded previous one.
pub fn points(now: Decimal, prev: Decimal) -> Decimal {
    round2(now) - round2(prev)
}

/// Two decimals, half away from zero: the single rounding every derived value gets.
pub fn round2(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Money, a rate, a trend or a ratio as it goes on the wire: rounded once (half away from zero)
/// and written as a JSON number with exactly two decimals (`45.00`), never a string, `NaN` or
/// `null` (a rate sent as `"45.00"` crashes the dashboard). A payload field of this type cannot
/// be written any other way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Fixed2(Decimal);

impl Serialize for Fixed2 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // serde_json's arbitrary-precision number writes the digits exactly as given.
        let number = Number::from_str(&self.0.to_string()).map_err(serde::ser::Error::custom)?;
        number.serialize(serializer)
    }
}

impl utoipa::PartialSchema for Fixed2 {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .description(Some(
                "Exact decimal rounded once, half away from zero, written with two decimals \
                 (money in naira, rates and trends in percent, ratios).",
            ))
            .examples([serde_json::json!(45.0)])
            .into()
    }
}

impl utoipa::ToSchema for Fixed2 {}

/// `value` rounded to two decimals for the wire (see [`Fixed2`]).
pub fn num(value: Decimal) -> Fixed2 {
    let mut rounded = round2(value);
    rounded.rescale(2);
    Fixed2(rounded)
}

/// `floor(count × fraction)` computed exactly (90 users × 0.30 → 27).
pub fn floor_share(count: i64, fraction: Decimal) -> i64 {
    (dec(count) * fraction).floor().to_i64().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_written_with_two_decimals_rounded_half_away_from_zero() {
        let json = |d: Decimal| serde_json::to_string(&num(d)).unwrap();
        assert_eq!(json(kobo(4500)), "45.00");
        assert_eq!(json(Decimal::new(12345, 3)), "12.35");
        assert_eq!(json(Decimal::new(-12345, 3)), "-12.35");
        assert_eq!(json(Decimal::ZERO), "0.00");
        assert_eq!(serde_json::to_value(num(kobo(7))).unwrap().to_string(), "0.07");
    }

    #[test]
    fn zero_denominators_give_zero() {
        assert_eq!(rate(dec(5), dec(0)), Decimal::ZERO);
        assert_eq!(trend(dec(5), dec(0)), Decimal::ZERO);
        assert_eq!(quotient(dec(5), dec(0)), Decimal::ZERO);
    }

    #[test]
    fn trend_uses_the_magnitude_of_the_previous_value() {
        assert_eq!(trend(dec(-50), dec(-100)), dec(50));
        assert_eq!(round2(trend(dec(247), dec(244))), Decimal::new(123, 2));
    }

    #[test]
    fn points_subtract_rounded_values() {
        // 10.005 → 10.01 and 5.004 → 5.00: 5.01 points, not 5.001 rounded.
        assert_eq!(points(Decimal::new(10005, 3), Decimal::new(5004, 3)), Decimal::new(501, 2));
    }

    #[test]
    fn targets_are_floored_exactly() {
        assert_eq!(floor_share(90, Decimal::new(30, 2)), 27);
        assert_eq!(floor_share(90, Decimal::new(70, 2)), 63);
    }
}
