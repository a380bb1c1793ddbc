import { UNKNOWN_ROUTE } from "../request-events";

/** The parts of an Express 4 or 5 router layer read here. */
interface RouterLayer {
  /** Set on the layer that dispatches to a route (`app.get(path, ...)`). */
  route?: { path?: unknown };
  handle?: unknown;
  /** Express 4: the regular expression path-to-regexp 0.1 made of the mount path, and its parameters in order. */
  regexp?: RegExp & { fast_slash?: boolean; fast_star?: boolean };
  keys?: ReadonlyArray<{ name?: unknown; optional?: boolean }>;
  /** Express 5 (router 2): the mount path as given. */
  rawPath?: unknown;
  handle_request?: LayerHandler;
  handleRequest?: LayerHandler;
}

type LayerHandler = (this: RouterLayer, req: object, res: object, next: (error?: unknown) => void) => unknown;
type Router = { stack: RouterLayer[] };

/** The templates of the routers the request is inside, outermost first (null: not known). */
const MOUNTS = Symbol("audit-events.express.mounts");
/** The template of the route that was dispatched last, mount paths included (null: a mount not known). */
const ROUTE = Symbol("audit-events.express.route");

/** What {@link ROUTE} holds when the routes dispatched all passed the request on (`next()`) without answering: no route handled it. */
const PASSED_ON = Symbol("audit-events.express.passed-on");

type TemplatedRequest = { [MOUNTS]?: Array<string | null>; [ROUTE]?: string | null | typeof PASSED_ON; route?: { path?: unknown }; baseUrl?: string };

function isRouter(value: unknown): value is Router {
  return typeof value === "function" && Array.isArray((value as Partial<Router>).stack);
}

/** A route's own path as a template: a string as given, alternatives joined with `|`, a RegExp as written. */
function pathTemplate(path: unknown): string | null {
  if (typeof path === "string") return path;
  if (path instanceof RegExp) return String(path);
  if (Array.isArray(path)) {
    const parts = path.map(pathTemplate);
    return parts.every((p): p is string => p !== null) ? parts.join("|") : null;
  }
  return null;
}

/** Where the `)` closing the group opened at `open` is, skipping escapes and character classes; -1 if none. */
function groupEnd(source: string, open: number): number {
  let depth = 0;
  let inClass = false;
  for (let i = open; i < source.length; i++) {
    const c = source[i];
    if (c === "\\") i++;
    else if (inClass) inClass = c !== "]";
    else if (c === "[") inClass = true;
    else if (c === "(") depth++;
    else if (c === ")" && --depth === 0) return i;
  }
  return -1;
}

/** The capturing groups opened in a piece of regular expression source (`(` not followed by `?`, `(?<name>` too). */
function captures(source: string): number {
  let count = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\\") i++;
    else if (inClass) inClass = c !== "]";
    else if (c === "[") inClass = true;
    else if (c === "(" && (source[i + 1] !== "?" || source[i + 2] === "<")) count++;
  }
  return count;
}

/** The endings path-to-regexp 0.1 gives a path: strict or not, ending or not. */
const ENDINGS = ["\\/?(?=\\/|$)", "\\/?(?:\\/|$)", "\\/?$", "(?=\\/|$)", "(?:\\/|$)", "$"];

/**
 * One alternative of an Express 4 path's regular expression, read back into its
 * template: what path-to-regexp 0.1 made of `/users/:userId` (`^\/users(?:\/([^/]+?))\/?(?=\/|$)`)
 * gives `/users/:userId` again. Parameters are named from `keys`, from `next`; a
 * parameter's custom pattern (`:id(\d+)`) is left out. Null when the source is not of
 * that shape (a RegExp given as the path): the template is then not known.
 */
function readAlternative(source: string, keys: NonNullable<RouterLayer["keys"]>, next: { key: number }): string | null {
  if (!source.startsWith("^")) return null;
  const ending = ENDINGS.find((e) => source.endsWith(e));
  if (ending === undefined) return null;
  const body = source.slice(1, source.length - ending.length);
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "\\") {
      out += body[++i] ?? "";
    } else if (c === "(") {
      const end = groupEnd(body, i);
      if (end === -1) return null;
      const group = body.slice(i, end + 1);
      const optional = body[end + 1] === "?";
      if (optional) i = end + 1;
      else i = end;
      const count = captures(group);
      if (count === 0) return null;
      // `(?:\/([^/]+?))`: the separator before the parameter, then the parameter(s).
      const prefix = /^\(\?:((?:\\[/.])*)\(/.exec(group);
      if (group.startsWith("(?:") && prefix === null) return null;
      out += (prefix?.[1] ?? "").replace(/\\/g, "");
      for (let k = 0; k < count; k++) {
        const key = keys[next.key++];
        if (key === undefined) return null;
        out += typeof key.name === "number" ? "*" : `:${String(key.name)}`;
        if (key.optional) out += "?";
      }
    } else if (/[\w\-/~!$&'+,;=:@%]/.test(c)) {
      out += c;
    } else {
      return null;
    }
  }
  return out;
}

/** Splits a regular expression source at its top-level `|`. */
function alternatives(source: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inClass = false;
  let from = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\\") i++;
    else if (inClass) inClass = c !== "]";
    else if (c === "[") inClass = true;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "|" && depth === 0) {
      parts.push(source.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(source.slice(from));
  return parts;
}

/**
 * The template of the path a router is mounted on, without a trailing slash (`""` for
 * the root): Express 5 keeps it (`layer.rawPath`); Express 4 keeps only its regular
 * expression, read back by {@link readAlternative}. Alternatives are written
 * `(a|b)`. Null when it cannot be known.
 *
 * @example
 * ```ts
 * mountTemplate(layerOf(app.use("/users/:userId", router))); // "/users/:userId", on Express 4 and 5
 * ```
 */
export function mountTemplate(layer: RouterLayer): string | null {
  let template: string | null;
  if ("rawPath" in layer) {
    template = Array.isArray(layer.rawPath) && layer.rawPath.length > 1 ? `(${pathTemplate(layer.rawPath)})` : pathTemplate(layer.rawPath);
    if (layer.rawPath instanceof RegExp) return template;
  } else if (layer.regexp instanceof RegExp) {
    if (layer.regexp.fast_slash) return "";
    const keys = layer.keys ?? [];
    const next = { key: 0 };
    const parts = alternatives(layer.regexp.source).map((source) => readAlternative(source, keys, next));
    if (parts.some((p) => p === null)) return null;
    template = parts.length > 1 ? `(${parts.join("|")})` : parts[0]!;
  } else {
    return null;
  }
  return template === null ? null : template.replace(/\/+$/, "");
}

const observedLayers = new WeakSet<RouterLayer>();
const observedRouters = new WeakMap<Router, { length: number; children: Router[] }>();

function wrapLayer(layer: RouterLayer, children: Router[]): void {
  if (observedLayers.has(layer)) return;
  observedLayers.add(layer);
  const method = typeof layer.handleRequest === "function" ? "handleRequest" : "handle_request";
  const original = layer[method];
  if (typeof original !== "function") return;
  if (layer.route !== undefined) {
    const own = pathTemplate(layer.route.path);
    layer[method] = function dispatchRecorded(req, res, next) {
      const r = req as TemplatedRequest;
      const mounts = r[MOUNTS] ?? [];
      const previous = ROUTE in r ? r[ROUTE] : PASSED_ON;
      r[ROUTE] = own === null || mounts.includes(null) ? null : joinTemplate(mounts.join(""), own);
      return original.call(this, req, res, (error?: unknown) => {
        // A route that passes the request on (`app.all("*", next)`, a prefix check)
        // without answering did not handle it: the template is what it was before.
        // One that passes an error on did: its error handler answers for it.
        const passedOn = error === undefined || error === "route" || error === "router";
        if (passedOn && !(res as { headersSent?: boolean }).headersSent) r[ROUTE] = previous;
        return next(error);
      });
    };
  } else if (isRouter(layer.handle)) {
    children.push(layer.handle);
    const mount = mountTemplate(layer);
    layer[method] = function mountRecorded(req, res, next) {
      const mounts = ((req as TemplatedRequest)[MOUNTS] ??= []);
      const depth = mounts.length;
      mounts.push(mount);
      return original.call(this, req, res, (error?: unknown) => {
        mounts.length = depth;
        return next(error);
      });
    };
  }
}

function joinTemplate(base: string, own: string): string {
  if (base === "") return own;
  return own === "/" ? base : base + own;
}

/**
 * Makes the app's routers record, as a request passes through them, the template of
 * each router's mount path and of the route dispatched, so that {@link routeTemplateOf}
 * can say `/users/:userId/orders/:id` for a route `/orders/:id` of a router mounted on
 * `/users/:userId`, with or without `mergeParams`, at any depth, whatever the request's
 * values: the templates come from the app's own definitions, never from the path. The
 * layers are wrapped once (the method that runs them, on the layer itself); routers
 * and routes added later are found on a later request (a router is looked at again
 * when its stack grew). Cost per request: one look at each router's stack length.
 *
 * @param app the Express 4 or 5 application (`req.app`).
 */
export function observeRoutes(app: unknown): void {
  if (typeof app !== "function") return;
  const candidate = app as { _router?: unknown; router?: unknown };
  // Express 4 keeps its router in `_router`; Express 5 has a `router` getter.
  const router = candidate._router ?? (isRouter(candidate.router) ? candidate.router : undefined);
  if (isRouter(router)) observeRouter(router, 0);
}

function observeRouter(router: Router, depth: number): void {
  if (depth > 32) return;
  const seen = observedRouters.get(router);
  if (seen !== undefined && seen.length === router.stack.length) {
    for (const child of seen.children) observeRouter(child, depth + 1);
    return;
  }
  const children = seen?.children ?? [];
  for (const layer of router.stack) wrapLayer(layer, children);
  observedRouters.set(router, { length: router.stack.length, children });
  for (const child of children) observeRouter(child, depth + 1);
}

/**
 * The template of the route that handled the request, mount paths included, as
 * recorded on its way (see {@link observeRoutes}); null when no route handled it (a
 * route that passed the request on with `next()` before answering did not);
 * {@link UNKNOWN_ROUTE} when a route did but its template cannot be known (a router
 * mounted on a RegExp on Express 4, a route of a mounted sub-application, a route under
 * a router before the app was first observed).
 */
export function routeTemplateOf(req: object): string | null {
  const r = req as TemplatedRequest;
  if (ROUTE in r) return r[ROUTE] === PASSED_ON ? null : (r[ROUTE] ?? UNKNOWN_ROUTE);
  if (r.route === undefined || r.route === null) return null;
  // A route of the app itself needs no mount path.
  return (r.baseUrl ?? "") === "" ? (pathTemplate(r.route.path) ?? UNKNOWN_ROUTE) : UNKNOWN_ROUTE;
}
