// Unit tests for src/config.ts: the process-wide configuration (configureAudit /
// getAuditConfig), option validation and the middleware's layered configuration.

import { configureAudit, getAuditConfig, LayeredConfig } from "../../src/config/configure";
import { DEFAULT_INCLUDE_HEADERS, DEFAULT_INCLUDE_POST_DATA, DEFAULT_INCLUDE_QUERY_PARAMS, DEFAULT_MASK_POST_FIELDS, DEFAULT_MAX_POST_DATA_BYTES } from "../../src/config/defaults";
import { type AuditOptions } from "../../src/config/options";
import { resolveOptions } from "../../src/config/resolve-options";
import { validateOptions } from "../../src/config/validate-options";
import { AuditConfigError } from "../../src/errors";
import { DEFAULT_MASK_FIELDS, DEFAULT_MASK_HEADERS } from "../../src/mask-rules";
import type { AuditStore } from "../../src/stores/store";
import { memoryStore } from "../../src/stores/memory-store";
import { prismaStore } from "../../src/stores/prisma-store";
import { thrownBy } from "../support/thrown";

function fakeStore(name = "fake"): AuditStore {
  return { ...memoryStore(), name };
}

/** Runs `fn` and returns the ERR_AUDIT_CONFIG error it throws. */
function configErrorFrom(fn: () => unknown): AuditConfigError {
  return thrownBy(fn, AuditConfigError, "ERR_AUDIT_CONFIG");
}

/** Calls configureAudit with options the type system would reject. */
function configureUntyped(options: unknown): void {
  configureAudit(options as AuditOptions);
}

afterEach(() => {
  configureAudit({});
});

describe("getAuditConfig", () => {
  it("has the defaults of API.md before anything is configured", () => {
    const config = getAuditConfig();
    expect(config.store).toBeUndefined();
    expect(config.includeQueryParams).toBe(false);
    expect(config.includePostData).toBe(false);
    expect(config.maskFields).toEqual(DEFAULT_MASK_FIELDS);
    expect(config.maskPostFields).toBe(config.maskFields);
    expect(config.maskHeaders).toEqual(DEFAULT_MASK_HEADERS);
    expect(config.sensitivePatterns).toEqual([]);
    expect(config.includeHeaders).toEqual([]);
    expect(config.clientIpResolver).toBeUndefined();
    expect(config.userResolver).toBeUndefined();
    expect(config.maxPostDataBytes).toBe(16384);
    expect(config.contentTypeResolver).toBeUndefined();
    expect(config.masking.isMaskedKey("user[password]")).toBe(true);
    expect(config.masking.isMaskedKey("username")).toBe(false);
  });

  it("exports the same defaults as constants", () => {
    expect(DEFAULT_INCLUDE_QUERY_PARAMS).toBe(false);
    expect(DEFAULT_INCLUDE_POST_DATA).toBe(false);
    expect(DEFAULT_MASK_POST_FIELDS).toBe(DEFAULT_MASK_FIELDS);
    expect(DEFAULT_INCLUDE_HEADERS).toEqual([]);
    expect(DEFAULT_MAX_POST_DATA_BYTES).toBe(16384);
  });

  it("returns a frozen configuration", () => {
    const config = getAuditConfig();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.maskPostFields)).toBe(true);
    expect(Object.isFrozen(config.includeHeaders)).toBe(true);
  });
});

describe("configureAudit", () => {
  it("puts every given option in force", () => {
    const store = fakeStore();
    const clientIpResolver = () => "10.0.0.1";
    const userResolver = () => "u1";
    const contentTypeResolver = () => null;
    configureAudit({
      store,
      includeQueryParams: true,
      includePostData: true,
      maskPostFields: ["password", "Token"],
      includeHeaders: ["user-agent"],
      clientIpResolver,
      userResolver,
      maxPostDataBytes: 1024,
      contentTypeResolver,
    });

    const config = getAuditConfig();
    expect(config.store).toBe(store);
    expect(config.includeQueryParams).toBe(true);
    expect(config.includePostData).toBe(true);
    expect(config.maskPostFields).toEqual(["password", "Token"]);
    expect(config.masking.isMaskedKey("refresh_token")).toBe(true);
    expect(config.masking.isMaskedKey("cvv")).toBe(false);
    expect(config.includeHeaders).toEqual(["user-agent"]);
    expect(config.clientIpResolver).toBe(clientIpResolver);
    expect(config.userResolver).toBe(userResolver);
    expect(config.maxPostDataBytes).toBe(1024);
    expect(config.contentTypeResolver).toBe(contentTypeResolver);
  });

  it("replaces the previous call entirely: options not given return to their defaults", () => {
    configureAudit({
      store: fakeStore(),
      includePostData: true,
      maskPostFields: ["pin"],
      includeHeaders: ["accept"],
      maxPostDataBytes: 10,
      userResolver: () => "u",
    });
    configureAudit({ includeQueryParams: true });

    const config = getAuditConfig();
    expect(config.includeQueryParams).toBe(true);
    expect(config.store).toBeUndefined();
    expect(config.includePostData).toBe(false);
    expect(config.maskFields).toEqual(DEFAULT_MASK_FIELDS);
    expect(config.masking.isMaskedKey("pin")).toBe(true);
    expect(config.includeHeaders).toEqual([]);
    expect(config.maxPostDataBytes).toBe(16384);
    expect(config.userResolver).toBeUndefined();
  });

  it("treats options set to undefined as not given", () => {
    configureAudit({ includePostData: true });
    configureAudit({ includePostData: undefined, maxPostDataBytes: undefined });
    expect(getAuditConfig().includePostData).toBe(false);
    expect(getAuditConfig().maxPostDataBytes).toBe(16384);
  });

  it("lower-cases includeHeaders", () => {
    configureAudit({ includeHeaders: ["User-Agent", "X-Request-ID", "accept"] });
    expect(getAuditConfig().includeHeaders).toEqual(["user-agent", "x-request-id", "accept"]);
  });

  it("takes maskPostFields as the former name of maskFields", () => {
    configureAudit({ maskPostFields: ["pin"] });
    expect(getAuditConfig().maskFields).toEqual(["pin"]);
    expect(getAuditConfig().masking.isMaskedKey("card_pin")).toBe(true);
    expect(getAuditConfig().masking.isMaskedKey("password")).toBe(false);
  });

  it("refuses maskFields and maskPostFields together, naming the one to keep", () => {
    const error = configErrorFrom(() => configureAudit({ maskFields: ["a"], maskPostFields: ["b"] }));
    expect(error.message).toContain("give only maskFields");
  });

  it("lets a middleware layer keep the compiled rules of the configuration it lies over", () => {
    configureAudit({ maskFields: ["iban"] });
    const layered = new LayeredConfig(validateOptions({ includePostData: true }, "auditEvents()"));
    expect(layered.get().masking).toBe(getAuditConfig().masking);
    const masked = new LayeredConfig(validateOptions({ maskHeaders: ["x-tenant"] }, "auditEvents()"));
    expect(masked.get().masking).not.toBe(getAuditConfig().masking);
    expect(masked.get().masking.isMaskedHeader("X-Tenant")).toBe(true);
    expect(masked.get().masking.isMaskedKey("iban")).toBe(true);
  });

  it("masks authorization, proxy-authorization, cookie and set-cookie whatever maskHeaders says", () => {
    configureAudit({ maskHeaders: [] });
    for (const name of ["Authorization", "proxy-authorization", "COOKIE", "set-cookie"]) {
      expect(getAuditConfig().masking.isMaskedHeader(name)).toBe(true);
    }
    expect(getAuditConfig().masking.isMaskedHeader("x-session-token")).toBe(true);
    expect(getAuditConfig().masking.isMaskedHeader("user-agent")).toBe(false);
  });

  it("checks sensitivePatterns: a label and a RegExp each, never one that matches the empty string", () => {
    expect(configErrorFrom(() => configureUntyped({ sensitivePatterns: [{ label: "x", pattern: "a+" }] })).message).toContain(
      'option "sensitivePatterns" must be an array of { label: string, pattern: RegExp }',
    );
    expect(configErrorFrom(() => configureUntyped({ sensitivePatterns: [{ label: "", pattern: /a/ }] })).message).toContain("sensitivePatterns");
    expect(configErrorFrom(() => configureAudit({ sensitivePatterns: [{ label: "any", pattern: /x*/ }] })).message).toContain(
      "do not match the empty string",
    );
    configureAudit({ sensitivePatterns: [{ label: "pin", pattern: /\d{4}/y }] });
    expect(getAuditConfig().masking.redact("1234 and 5678")).toBe("[pin] and [pin]");
  });

  it("lets an empty maskPostFields turn masking off", () => {
    configureAudit({ maskPostFields: [] });
    expect(getAuditConfig().maskPostFields).toEqual([]);
    expect(getAuditConfig().masking.isMaskedKey("password")).toBe(false);
  });

  it("copies the arrays it is given, so later changes to them have no effect", () => {
    const maskPostFields = ["password"];
    const includeHeaders = ["accept"];
    configureAudit({ maskPostFields, includeHeaders });
    maskPostFields.push("token");
    includeHeaders.push("cookie");
    expect(getAuditConfig().maskPostFields).toEqual(["password"]);
    expect(getAuditConfig().masking.isMaskedKey("token")).toBe(false);
    expect(getAuditConfig().includeHeaders).toEqual(["accept"]);
  });

  it("leaves the previous configuration in force when a call is rejected", () => {
    configureAudit({ includePostData: true });
    expect(() => configureUntyped({ includePostData: "yes" })).toThrow(AuditConfigError);
    expect(getAuditConfig().includePostData).toBe(true);
  });

  describe("with an unknown key", () => {
    it("throws AuditConfigError suggesting the near name, e.g. includeHeader -> includeHeaders", () => {
      const error = configErrorFrom(() => configureUntyped({ includeHeader: ["user-agent"] }));
      expect(error.message).toContain('unknown option "includeHeader"');
      expect(error.message).toContain('Did you mean "includeHeaders"');
    });

    it.each([
      ["maskPostField", "maskPostFields"],
      ["includepostdata", "includePostData"],
      ["maxPostDataByte", "maxPostDataBytes"],
      ["stor", "store"],
      ["userResolvr", "userResolver"],
    ])("suggests the near name for %s", (typo, known) => {
      const error = configErrorFrom(() => configureUntyped({ [typo]: true }));
      expect(error.message).toContain(`Did you mean "${known}"`);
    });

    it("lists the known options and suggests nothing for a name far from all of them", () => {
      const error = configErrorFrom(() => configureUntyped({ frobnicate: true }));
      expect(error.message).toContain('unknown option "frobnicate"');
      expect(error.message).not.toContain("Did you mean");
      expect(error.message).toContain("includeHeaders");
      expect(error.message).toContain("maskPostFields");
    });

    it.each(["constructor", "toString", "hasOwnProperty"])(
      "reports %s, a name Object.prototype has, as an unknown option",
      (name) => {
        const error = configErrorFrom(() => configureUntyped({ [name]: 1 }));
        expect(error.message).toContain(`unknown option "${name}"`);
      },
    );
  });

  describe("with a value of the wrong type", () => {
    it.each<[keyof AuditOptions, unknown, string, string]>([
      ["store", {}, "an AuditStore", "store: prismaStore(prisma)"],
      ["store", "postgres://db", "an AuditStore", "store: prismaStore(prisma)"],
      ["includeQueryParams", "yes", "a boolean", "includeQueryParams: true"],
      ["includePostData", 1, "a boolean", "includePostData: true"],
      ["maskPostFields", "password", "an array of non-empty strings", 'maskPostFields: ["password", "token"]'],
      ["maskPostFields", ["password", 42], "an array of non-empty strings", 'maskPostFields: ["password", "token"]'],
      ["maskPostFields", [""], "an array of non-empty strings", 'maskPostFields: ["password", "token"]'],
      ["includeHeaders", "user-agent", "an array of non-empty strings", 'includeHeaders: ["user-agent", "x-request-id"]'],
      ["includeHeaders", null, "an array of non-empty strings", 'includeHeaders: ["user-agent", "x-request-id"]'],
      ["clientIpResolver", "x-forwarded-for", "a function", "clientIpResolver: (req) => ..."],
      ["userResolver", { id: 1 }, "a function", "userResolver: (req) => ..."],
      ["contentTypeResolver", true, "a function", "contentTypeResolver: (req) => ..."],
      ["maxPostDataBytes", 0, "a positive integer", "maxPostDataBytes: 16384"],
      ["maxPostDataBytes", -1, "a positive integer", "maxPostDataBytes: 16384"],
      ["maxPostDataBytes", 1.5, "a positive integer", "maxPostDataBytes: 16384"],
      ["maxPostDataBytes", NaN, "a positive integer", "maxPostDataBytes: 16384"],
      ["maxPostDataBytes", Infinity, "a positive integer", "maxPostDataBytes: 16384"],
      ["maxPostDataBytes", "16384", "a positive integer", "maxPostDataBytes: 16384"],
    ])("rejects %s = %p, naming the option and giving an example", (option, value, expected, example) => {
      const error = configErrorFrom(() => configureUntyped({ [option]: value }));
      expect(error.message).toContain(`option "${option}" must be ${expected}`);
      expect(error.message).toContain(`For example: ${example}`);
    });

    it("says what it got", () => {
      expect(configErrorFrom(() => configureUntyped({ includePostData: "yes" })).message).toContain('got the string "yes"');
      expect(configErrorFrom(() => configureUntyped({ maskPostFields: "password" })).message).toContain('got the string "password"');
      expect(configErrorFrom(() => configureUntyped({ includeHeaders: null })).message).toContain("got null");
      expect(configErrorFrom(() => configureUntyped({ userResolver: [] })).message).toContain("got an array");
      expect(configErrorFrom(() => configureUntyped({ maxPostDataBytes: 1.5 })).message).toContain("got the number 1.5");
    });
  });

  it.each([
    ["null", null, "got null"],
    ["an array", [], "got an array"],
    ["a string", "includePostData", 'got the string "includePostData"'],
  ])("rejects %s instead of an options object", (_label, options, got) => {
    const error = configErrorFrom(() => configureUntyped(options));
    expect(error.message).toContain("configureAudit() expects an options object");
    expect(error.message).toContain(got);
  });
});

describe("validateOptions", () => {
  it("returns the options it was given when they are valid", () => {
    const options = { includePostData: true, maskPostFields: ["pin"] };
    expect(validateOptions(options, "auditEvents()")).toBe(options);
  });

  it("returns an empty object for undefined", () => {
    expect(validateOptions(undefined, "auditEvents()")).toEqual({});
  });

  it("names the caller in its messages", () => {
    const error = configErrorFrom(() => validateOptions({ includeHeader: [] }, "koaAuditEvents()"));
    expect(error.message.startsWith("koaAuditEvents():")).toBe(true);
  });
});

describe("resolveOptions", () => {
  it("resolves over the defaults without a base", () => {
    const resolved = resolveOptions({ includePostData: true });
    expect(resolved.includePostData).toBe(true);
    expect(resolved.includeQueryParams).toBe(false);
    expect(resolved.maxPostDataBytes).toBe(16384);
    expect(resolved.maskFields).toEqual(DEFAULT_MASK_FIELDS);
  });

  it("lays the options over a base, keeping what they do not set", () => {
    const store = fakeStore();
    const base = resolveOptions({ store, includeQueryParams: true, maskPostFields: ["pin"], maxPostDataBytes: 99 });
    const resolved = resolveOptions({ includePostData: true, includeHeaders: ["Accept"] }, base);
    expect(resolved.store).toBe(store);
    expect(resolved.includeQueryParams).toBe(true);
    expect(resolved.includePostData).toBe(true);
    expect(resolved.maskPostFields).toEqual(["pin"]);
    expect(resolved.masking.isMaskedKey("pin")).toBe(true);
    expect(resolved.includeHeaders).toEqual(["accept"]);
    expect(resolved.maxPostDataBytes).toBe(99);
  });

  it("lets false and empty arrays override a base", () => {
    const base = resolveOptions({ includeQueryParams: true, includeHeaders: ["accept"], maskPostFields: ["pin"] });
    const resolved = resolveOptions({ includeQueryParams: false, includeHeaders: [], maskPostFields: [] }, base);
    expect(resolved.includeQueryParams).toBe(false);
    expect(resolved.includeHeaders).toEqual([]);
    expect(resolved.masking.isMaskedKey("password")).toBe(false);
  });
});

describe("LayeredConfig", () => {
  it("lays middleware options over the process-wide configuration", () => {
    configureAudit({ includeQueryParams: true, maxPostDataBytes: 100 });
    const layered = new LayeredConfig({ includePostData: true, maxPostDataBytes: 50 });
    const config = layered.get();
    expect(config.includeQueryParams).toBe(true);
    expect(config.includePostData).toBe(true);
    expect(config.maxPostDataBytes).toBe(50);
  });

  it("re-resolves after configureAudit is called again", () => {
    const layered = new LayeredConfig({ includePostData: true });
    expect(layered.get().store).toBeUndefined();

    const store = fakeStore();
    configureAudit({ store, includeHeaders: ["Accept"] });
    expect(layered.get().store).toBe(store);
    expect(layered.get().includeHeaders).toEqual(["accept"]);
    expect(layered.get().includePostData).toBe(true);

    configureAudit({});
    expect(layered.get().store).toBeUndefined();
    expect(layered.get().includeHeaders).toEqual([]);
    expect(layered.get().includePostData).toBe(true);
  });

  it("sees a configureAudit call made before its first use", () => {
    const layered = new LayeredConfig({});
    configureAudit({ includeQueryParams: true });
    expect(layered.get().includeQueryParams).toBe(true);
  });

  it("returns the same resolved object while the configuration is unchanged", () => {
    const layered = new LayeredConfig({ includePostData: true });
    expect(layered.get()).toBe(layered.get());
  });

  it("keeps a middleware false over a process-wide true", () => {
    configureAudit({ includePostData: true });
    expect(new LayeredConfig({ includePostData: false }).get().includePostData).toBe(false);
  });
});

describe("prismaStore() without a client", () => {
  it.each([undefined, null, "postgres://db", 5])("refuses %p, saying it wants the Prisma client and showing how", (client) => {
    const error = thrownBy(() => prismaStore(client as never), AuditConfigError, "ERR_AUDIT_CONFIG");
    expect(error.message).toMatch(/^prismaStore\(\) expects your Prisma client as its first argument, such as prismaStore\(prisma\)/);
  });
});
