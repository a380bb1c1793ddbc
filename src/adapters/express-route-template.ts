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
type Router = { stack: RouterLayer[]; handle?: LayerHandler };

/** The innermost router the request is inside (undefined: none). */
const MOUNTS = Symbol("audit-events.express.mounts");
/** The route that was dispatched last: its template, or where to join it from (null: not known). */
const ROUTE = Symbol("audit-events.express.route");

/** The Express route object (`req.route`) of the last route dispatched through an observed layer. */
const DISPATCHED = Symbol("audit-events.express.dispatched");

/** What {@link ROUTE} holds when the routes dispatched all passed the request on (`next()`) without answering: no route handled it. */
const PASSED_ON = Symbol("audit-events.express.passed-on");

/**
 * A router the request is inside: its mount path's template (null: not known), the
 * router itself, and the mount it is inside. Shared by the routes dispatched below it,
 * never changed. An app's own router is a mount of template `""` with no outer one,
 * made when the request enters the app at its root (`req.baseUrl` empty).
 */
interface Mount {
  readonly template: string | null;
  readonly into: Router;
  readonly outer: Mount | undefined;
}

/**
 * A route dispatched inside routers: its own template and the routers, joined into the
 * full template only when someone reads it (see {@link routeTemplateOf}).
 */
interface MountedRoute {
  readonly own: string;
  readonly mount: Mount;
}

type TemplatedRequest = {
  [MOUNTS]?: Mount;
  [ROUTE]?: MountedRoute | null | typeof PASSED_ON;
  [DISPATCHED]?: unknown;
  route?: { path?: unknown };
  baseUrl?: string;
};

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
const observedRoots = new WeakSet<Router>();
const observedRouters = new WeakMap<Router, { length: number; children: Router[] }>();

/**
 * The mount the request is in when a layer of `owner` runs, or null when the mounts it
 * passed through were not all recorded (observation began during the request, a mounted
 * sub-application between them): the innermost recorded mount must be `owner` itself.
 */
function mountIn(r: TemplatedRequest, owner: Router): Mount | null {
  const mount = r[MOUNTS];
  return mount !== undefined && mount.into === owner ? mount : null;
}

/**
 * The app's root mount when a route of `owner` is dispatched at the root of the app
 * `owner` belongs to, though the request entered it unrecorded (the app's first request,
 * through a middleware that `observeRoutesFrom` cannot place: one NestJS or the app
 * wrapped in a function of its own); null otherwise. At the root: `owner` is the app's
 * own router, the app is not mounted in another (`app.parent`), and the request's
 * `baseUrl` is empty (a route changes no `baseUrl`, so an app entered below a path, even
 * through a wrapper, shows it).
 */
function appRootMount(r: TemplatedRequest, owner: Router): Mount | null {
  const app = (r as { app?: { parent?: unknown } }).app;
  if (!observedRoots.has(owner) || (r.baseUrl ?? "") !== "" || app === undefined || app.parent !== undefined || appRouter(app) !== owner) return null;
  return { template: "", into: owner, outer: undefined };
}

function wrapLayer(layer: RouterLayer, owner: Router, children: Router[]): void {
  if (observedLayers.has(layer)) return;
  observedLayers.add(layer);
  const method = typeof layer.handleRequest === "function" ? "handleRequest" : "handle_request";
  const original = layer[method];
  if (typeof original !== "function") return;
  if (layer.route !== undefined) {
    const route = layer.route;
    const own = pathTemplate(route.path);
    layer[method] = function dispatchRecorded(req, res, next) {
      const r = req as TemplatedRequest;
      const mount = mountIn(r, owner) ?? appRootMount(r, owner);
      const previous = ROUTE in r ? r[ROUTE] : PASSED_ON;
      r[ROUTE] = own === null || mount === null ? null : { own, mount };
      r[DISPATCHED] = route;
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
    const into = layer.handle;
    children.push(into);
    const template = mountTemplate(layer);
    layer[method] = function mountRecorded(req, res, next) {
      const r = req as TemplatedRequest;
      const outer = r[MOUNTS];
      // A router entered from a mount not recorded: its template is not known.
      r[MOUNTS] = { template: outer !== undefined && outer.into === owner ? template : null, into, outer };
      return original.call(this, req, res, (error?: unknown) => {
        r[MOUNTS] = outer;
        return next(error);
      });
    };
  }
}

/**
 * Makes an app's own router record the request's root mount when the request enters it
 * at the root (`req.baseUrl` empty); a sub-application entered below its parent's root
 * records none, so that its routes, whose mount the parent holds, are not known.
 */
function wrapRoot(router: Router): void {
  const original = router.handle;
  if (typeof original !== "function" || observedRoots.has(router)) return;
  observedRoots.add(router);
  router.handle = function rootRecorded(req, res, out) {
    const r = req as TemplatedRequest;
    if ((r.baseUrl ?? "") !== "") return original.call(this, req, res, out);
    const outer = r[MOUNTS];
    r[MOUNTS] = { template: "", into: router, outer: undefined };
    return original.call(this, req, res, (error?: unknown) => {
      r[MOUNTS] = outer;
      return out(error);
    });
  };
}

function joinTemplate(base: string, own: string): string {
  if (base === "") return own;
  return own === "/" ? base : base + own;
}

/** A route's full template: the mount paths, outermost first, then its own; null when a mount's is not known. */
function mountedTemplate({ own, mount }: MountedRoute): string | null {
  let base = "";
  for (let m: Mount | undefined = mount; m !== undefined; m = m.outer) {
    if (m.template === null) return null;
    base = m.template + base;
  }
  return joinTemplate(base, own);
}

/**
 * Makes the app's routers record, as a request passes through them, the template of
 * each router's mount path and of the route dispatched, so that {@link routeTemplateOf}
 * can say `/users/:userId/orders/:id` for a route `/orders/:id` of a router mounted on
 * `/users/:userId`, with or without `mergeParams`, at any depth, whatever the request's
 * values: the templates come from the app's own definitions, never from the path. The
 * layers are wrapped once (the method that runs them, on the layer itself); routers
 * and routes added later are found on a later request (a router is looked at again
 * when its stack grew). Cost per request: one look at each router's stack length, and
 * per router and route passed through, a pointer kept; the template is joined only when
 * {@link routeTemplateOf} reads it. A route is named only when every mount the request
 * came through was recorded: the app's own router records the request's root, each
 * router's mount checks that it was entered from the router recorded before it.
 *
 * @param app the Express 4 or 5 application (`req.app`).
 * @returns true when layers were wrapped that were not before (the app's first request, a router grown).
 */
export function observeRoutes(app: unknown): boolean {
  const router = appRouter(app);
  if (router === undefined) return false;
  wrapRoot(router);
  return observeRouter(router, 0);
}

/** An Express app's own router: Express 4 keeps it in `_router`; Express 5 has a `router` getter. */
function appRouter(app: unknown): Router | undefined {
  if (typeof app !== "function") return undefined;
  const candidate = app as { _router?: unknown; router?: unknown };
  const router = candidate._router ?? candidate.router;
  return isRouter(router) ? router : undefined;
}

/** Wraps the router's new layers and its routers'; true when any was new. */
function observeRouter(router: Router, depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  const seen = observedRouters.get(router);
  let grew = seen === undefined || seen.length !== router.stack.length;
  const children = seen?.children ?? [];
  if (grew) {
    for (const layer of router.stack) wrapLayer(layer, router, children);
    observedRouters.set(router, { length: router.stack.length, children });
  }
  for (const child of children) grew = observeRouter(child, depth + 1) || grew;
  return grew;
}

/** How deep routers are followed: deeper ones are not observed, their routes not known. */
const MAX_DEPTH = 32;

/** Where a middleware sits in an app: the mounts from the app's root to its router, or null (nowhere, or more than one place). */
const placements = new WeakMap<object, WeakMap<Router, Placement | null>>();

/**
 * Where a middleware sits: the mounts from the app's root to its router, and what the
 * request's `baseUrl` must then be when the app was entered at its root (a pattern of
 * the mount paths, the middleware's own layer's included; null when they are not all
 * plain `/literal` or `/:param` segments): an app entered below a path (called from a
 * function of another app, so without `parent`) shows a `baseUrl` longer than that.
 */
interface Placement {
  readonly mount: Mount;
  readonly baseUrl: RegExp | null;
}

/** A mount path template made of `/literal` and `/:param` segments as a pattern of the `baseUrl` it gives; null for any other. */
function baseUrlPattern(template: string): RegExp | null {
  if (template === "") return /^$/;
  const segments = template.split("/").slice(1);
  if (segments.some((s) => !/^(?:[\w\-.~]+|:\w+)$/.test(s))) return null;
  const source = segments.map((s) => (s.startsWith(":") ? "/[^/]+" : `/${s.replace(/[.\-]/g, "\\$&")}`)).join("");
  return new RegExp(`^${source}$`, "i");
}

function findPlacement(router: Router, middleware: object, mount: Mount, depth: number, found: Placement[]): void {
  if (depth > MAX_DEPTH || found.length > 1) return;
  for (const layer of router.stack) {
    const routeStack = (layer.route as { stack?: RouterLayer[] } | undefined)?.stack;
    if (layer.handle === middleware || (Array.isArray(routeStack) && routeStack.some((l) => l.handle === middleware))) {
      // A route's layer changes no baseUrl; a middleware's adds its mount path.
      let path: string | null = layer.route === undefined ? mountTemplate(layer) : "";
      for (let m: Mount | undefined = mount; m !== undefined && path !== null; m = m.outer) path = m.template === null ? null : m.template + path;
      found.push({ mount, baseUrl: path === null ? null : baseUrlPattern(path) });
      break;
    }
  }
  for (const layer of router.stack) {
    if (layer.route === undefined && isRouter(layer.handle)) {
      findPlacement(layer.handle, middleware, { template: mountTemplate(layer), into: layer.handle, outer: mount }, depth + 1, found);
    }
  }
}

/**
 * Observes the app's routers ({@link observeRoutes}) from inside a middleware of it, and
 * when the request came through routers before they were observed (the app's first
 * requests), records the mounts it came through from where that middleware sits: its
 * templates then name the full route on the first request too. A middleware registered
 * in more than one place, inside a mounted sub-application, in an app entered below a
 * path, or through a function of the app's own (NestJS registers each middleware so)
 * cannot tell which mounts the request came through: that request's routes are
 * {@link UNKNOWN_ROUTE}, except those of the app's own router (see `appRootMount`).
 *
 * @param req the Express request; `req.app` is the app observed.
 * @param middleware the middleware function calling this, as registered in the app.
 */
export function observeRoutesFrom(req: object, middleware: object): void {
  const app = (req as { app?: unknown }).app;
  const changed = observeRoutes(app);
  const root = appRouter(app);
  const r = req as TemplatedRequest;
  // The request entered the app when its router was observed: its mounts are recorded.
  if (root === undefined || (r[MOUNTS] !== undefined && !changed)) return;
  let byApp = placements.get(middleware);
  if (byApp === undefined) placements.set(middleware, (byApp = new WeakMap()));
  let placement = changed ? undefined : byApp.get(root);
  if (placement === undefined) {
    const found: Placement[] = [];
    // A mounted sub-application's root is not the request's: where it sits in its parent is not known here.
    if ((app as { parent?: unknown }).parent === undefined) findPlacement(root, middleware, { template: "", into: root, outer: undefined }, 0, found);
    placement = found.length === 1 ? found[0]! : null;
    byApp.set(root, placement);
  }
  // An app whose own router was not entered at the root path (a sub-application an app
  // calls from a function of its own, `app.use("/v1", (req, res, next) => v1(req, res, next))`,
  // so without `parent`) is below a mount nobody recorded: its routes are not known. Its
  // `baseUrl` then has more than the mount paths down to the middleware give (`/v1/api`
  // for a middleware in a router on `/api`), or they cannot say (not plain segments).
  if (placement === null || placement.baseUrl === null || !placement.baseUrl.test(r.baseUrl ?? "")) return;
  if (r[MOUNTS]?.into !== placement.mount.into) r[MOUNTS] = placement.mount;
}

/**
 * The template of the route that handled the request, mount paths included, as
 * recorded on its way (see {@link observeRoutes}); null when no route handled it (a
 * route that passed the request on with `next()` before answering did not);
 * {@link UNKNOWN_ROUTE} when a route did but its template cannot be known (a router
 * mounted on a RegExp on Express 4, a route of a mounted sub-application, a route the
 * request reached through mounts not all recorded: on the app's first request, when the
 * middleware that observed the app sits in more than one place, see {@link observeRoutesFrom}).
 */
export function routeTemplateOf(req: object): string | null {
  const r = req as TemplatedRequest;
  // A route that was not observed (a mounted sub-application's) answered after the last observed one.
  const unobserved = r.route !== undefined && r.route !== null && r.route !== r[DISPATCHED];
  if (ROUTE in r && !unobserved) {
    const route = r[ROUTE];
    if (route === PASSED_ON) return null;
    return route === null || route === undefined ? UNKNOWN_ROUTE : (mountedTemplate(route) ?? UNKNOWN_ROUTE);
  }
  if (r.route === undefined || r.route === null) return null;
  // A route of the app itself needs no mount path.
  return (r.baseUrl ?? "") === "" ? (pathTemplate(r.route.path) ?? UNKNOWN_ROUTE) : UNKNOWN_ROUTE;
}
