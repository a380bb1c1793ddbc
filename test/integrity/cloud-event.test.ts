import fc from "fast-check";
import { DEFAULT_CLOUD_EVENT_SOURCE, toCloudEvent } from "../../src/integrity/cloud-event";
import { AuditConfigError } from "../../src/errors";
import { EVENT_FIELDS } from "../../src/model/event-record";
import { sampleRecord } from "../conformance/store-conformance";
import { thrownBy } from "../support/thrown";
import { recordArbitrary } from "./record-arbitrary";
import { cloudEventProblems } from "./cloud-event-checker";

describe("the CloudEvents checker of these tests", () => {
  it("finds the problems it is there to find", () => {
    expect(cloudEventProblems({ specversion: "1.0", id: "1", source: "a b", type: "t", Tenant_Id: "x", subject: "", time: "yesterday", verylongextensionname1: "x", other: null, line: "a\nb" })).toEqual([
      "source must be a URI-reference",
      "time must be RFC 3339",
      "subject must be non-empty",
      'attribute name "Tenant_Id" must be lower-case letters and digits',
      "attribute name verylongextensionname1 should not exceed 20 characters",
      "other: an unset attribute is left out",
      'line: "a\\nb" holds a character a CloudEvents String may not',
    ]);
    expect(cloudEventProblems({ id: "" })).toEqual(expect.arrayContaining(["id is required, a non-empty string", "source is required, a non-empty string", "specversion must be 1.0"]));
  });
});

describe("toCloudEvent", () => {
  it("maps an event onto the CloudEvents attributes and keeps the stored event as data", () => {
    const record = sampleRecord();
    const event = toCloudEvent(record, { source: "https://orders.example.com" });
    expect(event).toEqual({
      specversion: "1.0",
      id: record.id,
      source: "https://orders.example.com",
      type: "audit-events.order.refund",
      subject: "Order/42",
      time: record.timestamp.toISOString(),
      datacontenttype: "application/json",
      outcome: "failure",
      severity: "warning",
      action: "order.refund",
      tenantid: "tenant-1",
      requestid: record.requestId,
      data: { ...record, timestamp: record.timestamp.toISOString() },
    });
    expect(cloudEventProblems(event as unknown as Record<string, unknown>)).toEqual([]);
  });

  it("names the library as source by default, and leaves unset attributes out", () => {
    const event = toCloudEvent(sampleRecord({ action: null, tenantId: null, requestId: null }));
    expect(event.source).toBe(DEFAULT_CLOUD_EVENT_SOURCE);
    expect(event.type).toBe("audit-events");
    expect(Object.keys(event)).not.toEqual(expect.arrayContaining(["action"]));
    expect(["action", "tenantid", "requestid"].filter((name) => name in event)).toEqual([]);
  });

  it("percent-encodes what a CloudEvents String may not hold, and a slash in the content type", () => {
    const event = toCloudEvent(sampleRecord({ contentType: "a/b%", objectId: "x\ny", action: "bad\u0000action", tenantId: "t\ud800" }));
    expect(event.subject).toBe("a%2Fb%25/x%0Ay");
    expect(event.type).toBe("audit-events.bad%00action");
    expect(event.tenantid).toBe("t%EF%BF%BD");
    expect(event.data).toMatchObject({ contentType: "a/b%", objectId: "x\ny", action: "bad\u0000action", tenantId: "t\ud800" });
  });

  it("refuses a source that is not a non-empty URI-reference, naming the fix", () => {
    for (const source of ["", "has space", "tab\there", 42]) {
      const error = thrownBy(() => toCloudEvent(sampleRecord(), { source: source as string }), AuditConfigError, "ERR_AUDIT_CONFIG");
      expect(error.message).toMatch(/source must be a non-empty URI-reference.*For example/);
    }
    expect(toCloudEvent(sampleRecord(), { source: "urn:example:orders" }).source).toBe("urn:example:orders");
  });

  it("gives a valid CloudEvent for any event, whose data and subject give the event back", () => {
    fc.assert(
      fc.property(recordArbitrary, (record) => {
        const event = JSON.parse(JSON.stringify(toCloudEvent(record))) as Record<string, unknown> & { data: Record<string, unknown>; subject: string };
        expect(cloudEventProblems(event)).toEqual([]);
        expect(Object.keys(event.data).sort()).toEqual([...EVENT_FIELDS].sort());
        expect(event.data).toEqual(JSON.parse(JSON.stringify({ ...record, timestamp: record.timestamp.toISOString() })));
        expect(event.time).toBe(record.timestamp.toISOString());
        // The escaping is reversible but for lone surrogates, which become U+FFFD.
        const slash = event.subject.indexOf("/");
        const loneSurrogate = /\p{Cs}/u;
        if (!loneSurrogate.test(record.contentType)) expect(decodeURIComponent(event.subject.slice(0, slash))).toBe(record.contentType);
        if (!loneSurrogate.test(record.objectId)) expect(decodeURIComponent(event.subject.slice(slash + 1))).toBe(record.objectId);
        if (record.action !== null && !loneSurrogate.test(record.action)) expect(decodeURIComponent(event.type as string)).toBe(`audit-events.${record.action}`);
      }),
    );
  });
});
