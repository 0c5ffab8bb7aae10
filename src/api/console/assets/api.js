// Calls to the service with the operator's token, kept in this tab's sessionStorage only.

const API = '/api/analytics/';
const TOKEN_KEY = 'mafita-analytics.console.token';

/** The signed-in operator's token (null when signed out). */
export const session = {
  token: sessionStorage.getItem(TOKEN_KEY),
  /** Keeps `token` for this tab, or forgets it with null. */
  keep(token) {
    this.token = token;
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** An answer other than 2xx, with the server's `detail`. */
export class ApiError extends Error {
  constructor(status, detail, retryAfter) {
    super(detail);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** Calls `path` under /api/analytics/ with the token; throws ApiError on a non-2xx answer. */
export async function api(path, options = {}) {
  let res;
  try {
    res = await fetch(API + path, {
      method: options.method || 'GET',
      headers: { Authorization: `Bearer ${session.token}`, Accept: 'application/json' },
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'The service cannot be reached (network error).');
  }
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    body = null;
  }
  if (!res.ok) {
    const detail = (body && body.detail) || `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, detail, Number(res.headers.get('Retry-After')) || 0);
  }
  return { status: res.status, body };
}
