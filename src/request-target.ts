/**
 * A request target in absolute form (RFC 9112 §3.2.2: `GET http://host/path HTTP/1.1`, as
 * clients send requests to a proxy, and as a server must accept them): a scheme and `://`.
 * An origin-form target starts with `/`, and CONNECT's authority form (`host:443`) holds
 * no `//`.
 */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z\d+.-]*:\/\//;

/** Where the authority of an absolute-form target ends: its path, query or fragment. */
const AUTHORITY_END = /[/?#]/;

/**
 * The URL a request asked for, from its target as received (`req.url` before any router
 * rewrote it) and the scheme and host the framework read off the connection and headers.
 * An absolute-form target is that URL itself, as the client wrote it: its scheme and
 * authority win over the connection's and the `Host` (or trusted `X-Forwarded-Host`)
 * header's, as RFC 9112 §3.2.2 tells a server to. The asterisk form (`OPTIONS *`) is
 * `protocol://host` itself. Any other target (origin form, `/path?query`; Node's parser
 * refuses the rest) is appended to `protocol://host`.
 *
 * @example requestUrl("http", "x", "/g?a=1") // "http://x/g?a=1"
 * @example requestUrl("http", "x", "https://api.example/g") // "https://api.example/g"
 * @example requestUrl("http", "x", "*") // "http://x"
 */
export function requestUrl(protocol: string, host: string, target: string): string {
  if (ABSOLUTE_FORM.test(target)) return target;
  // Asterisk form (`OPTIONS * HTTP/1.1`, RFC 9112 §3.2.4) asks about the server itself: its
  // target URI has an empty path and query (§3.3), not `*` glued to the host.
  return target === "*" ? `${protocol}://${host}` : `${protocol}://${host}${target}`;
}

/**
 * A request target in origin form (path and query): of an absolute-form target the part
 * after its authority (`http://u:pw@x/g?a=1` → `/g?a=1`; `/` before a query when it has no
 * path), as Express's and Koa's routers read it; any other target as it is. The scheme and
 * authority name whatever host the client wrote, not the app's.
 *
 * @example originForm("http://attacker.example/audit/events?limit=2") // "/audit/events?limit=2"
 * @example originForm("/g?a=1") // "/g?a=1"
 *
 * @param hostEnd the characters besides `/`, `?` and `#` that end the host for the framework's URL parser
 * @param absoluteForm the targets the framework's router reads as absolute-form (any other is a path as it is)
 */
export function originForm(target: string, hostEnd?: RegExp, absoluteForm: RegExp = ABSOLUTE_FORM): string {
  if (!absoluteForm.test(target)) return target;
  const authorityStart = target.indexOf("://") + 3;
  const rest = target.slice(authorityStart);
  let end = rest.search(AUTHORITY_END);
  if (hostEnd !== undefined) {
    // The host starts after the userinfo's last `@` in the authority.
    const hostStart = rest.lastIndexOf("@", end === -1 ? rest.length : end) + 1;
    const cut = rest.slice(hostStart, end === -1 ? rest.length : end).search(hostEnd);
    if (cut !== -1) end = hostStart + cut;
  }
  const path = end === -1 ? "" : rest.slice(end);
  return path.startsWith("/") ? path : `/${path}`;
}

/**
 * The path of a request target, without its query (see {@link originForm}), so that
 * `skipPaths` match whichever form the client sent.
 *
 * @example requestPath("/g?a=1") // "/g"
 * @example requestPath("http://x?a=1") // "/"
 * @example requestPath("http://x;/g", URL_PARSE_HOST_END) // "/;/g", as Express routes it
 *
 * @param hostEnd the characters besides `/`, `?` and `#` that end the host for the framework's URL parser
 * @param absoluteForm the targets the framework's router reads as absolute-form (any other is a path as it is)
 */
export function requestPath(target: string, hostEnd?: RegExp, absoluteForm: RegExp = ABSOLUTE_FORM): string {
  return originForm(target, hostEnd, absoluteForm).split(/[?#]/)[0]!;
}

/**
 * Where Node's `url.parse` (which Express 4 and 5 route by, through `parseurl`) ends the
 * host of an absolute-form target besides `/`, `?` and `#`: `GET http://x;/health` is
 * served as the path `;/health`, not `/health`, and must not be skipped as `/health`.
 */
export const URL_PARSE_HOST_END = /[\t\n\r "%';<>\\^`{|}]/;

/**
 * The absolute-form targets Fastify's router (find-my-way) takes the path of: a lower-case
 * `http://` or `https://`. Fastify 4 routes `HTTP://x/health` or `ftp://x/health` as that
 * text (its catch-all routes serve it), so it must not be skipped as `/health`; Fastify 5
 * refuses a scheme other than http(s), and routes an upper-case one, whose route template
 * is then skipped by name.
 */
export const FASTIFY_ABSOLUTE_FORM = /^https?:\/\//;
