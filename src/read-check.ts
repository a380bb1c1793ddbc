import { accessDecisionOf, type AccessDecision } from "./access";
import { mapBounded } from "./bounded-map";
import { MODEL_TAG } from "./content-object";
import type { AuditContext } from "./context";
import { suggestion } from "./config/suggestion";
import { AuditConfigError } from "./errors";
import type { ReadPlan } from "./read-plan";

/**
 * What a model's `read` hook answers for one record: `true` (returned whole),
 * `{ allow: false, reason }` (refused), or `{ hide: ["field", ...] }` (returned without
 * those fields).
 */
export type ReadDecision = AccessDecision | { hide: readonly string[] };

/** A model's `read` hook, as {@link checkReadResult} calls it. */
export type ReadHook = (record: Record<string, unknown>, ctx: AuditContext) => ReadDecision | Promise<ReadDecision>;

/** A model's field names (scalars and relations) from the data model, or `undefined` when it is not known. */
export type ModelFields = (model: string) => readonly string[] | undefined;

/** How many `read` hook calls run at once over the records of one list. */
export const READ_HOOK_CONCURRENCY = 16;

/** What the hooks said of a read's records, per model, for its events. */
export interface ReadFindings {
  readonly refused: Map<string, { ids: string[]; reasons: string[] }>;
  readonly hidden: Map<string, { fields: Set<string>; records: number }>;
  /** The first refused record a to-one relation held (the whole read is refused for it). */
  toOne?: { model: string; reason: string };
}

/** A `read` hook threw or answered nonsense: which model's, on which record. */
export class ReadHookFailure {
  constructor(
    readonly model: string,
    readonly record: unknown,
    readonly error: unknown,
  ) {}
}

/** What a `read` hook said of one record: kept (minus `hide`), or refused. */
type ReadVerdict = { keep: true; hide: readonly string[] } | { keep: false; reason: string };

const KEEP: ReadVerdict = { keep: true, hide: [] };

function readVerdictOf(answer: unknown, model: string, record: Record<string, unknown>, fieldsOf: ModelFields): ReadVerdict {
  if (typeof answer === "object" && answer !== null && !Array.isArray(answer) && "hide" in answer) {
    const { hide } = answer as { hide: unknown };
    const others = Object.keys(answer).filter((k) => k !== "hide");
    if (others.length > 0) {
      throw new AuditConfigError(`auditModels(): the read hook of ${model} returned { hide } with ${others.map((k) => `"${k}"`).join(", ")} beside it: a read hook answers true, { allow: false, reason }, or { hide: ["email"] } alone (the record, without those fields).`);
    }
    if (!Array.isArray(hide) || !hide.every((f) => typeof f === "string")) {
      throw new AuditConfigError(`auditModels(): the read hook of ${model} returned a hide that is not a list of field names: return { hide: ["email", "total"] }.`);
    }
    const known = fieldsOf(model);
    for (const field of hide) {
      if (known === undefined ? Object.hasOwn(record, field) : known.includes(field)) continue;
      // The hook meant to hide something that is not there: what it saw cannot be trusted to be what it meant.
      throw new AuditConfigError(`auditModels(): the read hook of ${model} hid "${field}", which is not a field of ${model}.${suggestion(field, known ?? Object.keys(record))} Name the fields as schema.prisma does.`);
    }
    return { keep: true, hide };
  }
  const decision = accessDecisionOf(answer, `auditModels(): the read hook of ${model}`);
  return decision.allow ? KEEP : { keep: false, reason: decision.reason };
}

/** A record's id for an event: its scalar `id`, else `*` (the event's content says more). */
export function idOf(value: unknown): string {
  const id = typeof value === "object" && value !== null ? (value as { id?: unknown }).id : undefined;
  return typeof id === "string" || typeof id === "number" || typeof id === "bigint" ? String(id) : "*";
}

function tag(record: object, model: string): void {
  if (!Object.prototype.hasOwnProperty.call(record, MODEL_TAG)) Object.defineProperty(record, MODEL_TAG, { value: model, enumerable: false });
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

async function checkRecords(
  records: readonly unknown[],
  plan: ReadPlan,
  hookOf: (model: string) => ReadHook | undefined,
  ctx: AuditContext,
  fieldsOf: ModelFields,
  findings: ReadFindings,
): Promise<{ kept: unknown[]; reason?: string }> {
  const hook = hookOf(plan.model);
  const verdicts = hook === undefined
    ? undefined
    : await mapBounded(records, READ_HOOK_CONCURRENCY, async (record) => {
        if (!isRecord(record)) return KEEP;
        try {
          return readVerdictOf(await hook(record, ctx), plan.model, record, fieldsOf);
        } catch (error) {
          throw new ReadHookFailure(plan.model, record, error);
        }
      });
  const kept: unknown[] = [];
  let reason: string | undefined;
  for (const [i, record] of records.entries()) {
    if (!isRecord(record)) {
      kept.push(record);
      continue;
    }
    const verdict = verdicts?.[i] ?? KEEP;
    if (!verdict.keep) {
      const refused = findings.refused.get(plan.model) ?? { ids: [], reasons: [] };
      refused.ids.push(idOf(record));
      if (!refused.reasons.includes(verdict.reason)) refused.reasons.push(verdict.reason);
      findings.refused.set(plan.model, refused);
      reason ??= verdict.reason;
      continue;
    }
    for (const [field, related] of plan.relations) {
      const value = record[field];
      if (Array.isArray(value)) {
        record[field] = (await checkRecords(value, related, hookOf, ctx, fieldsOf, findings)).kept;
      } else if (isRecord(value)) {
        const checked = await checkRecords([value], related, hookOf, ctx, fieldsOf, findings);
        if (checked.kept.length === 0) findings.toOne ??= { model: related.model, reason: checked.reason! };
      }
    }
    if (plan.keep !== undefined) {
      for (const field of Object.keys(record)) {
        if (plan.keep.has(field)) continue;
        if (plan.keepUnlisted) Object.defineProperty(record, field, { enumerable: false });
        else delete record[field];
      }
    }
    if (plan.drop !== undefined) for (const field of plan.drop) delete record[field];
    let removed = false;
    for (const field of verdict.hide) {
      if (!Object.hasOwn(record, field)) continue;
      delete record[field];
      const hidden = findings.hidden.get(plan.model) ?? { fields: new Set<string>(), records: 0 };
      hidden.fields.add(field);
      if (!removed) hidden.records++;
      findings.hidden.set(plan.model, hidden);
      removed = true;
    }
    tag(record, plan.model);
    kept.push(record);
  }
  return reason === undefined ? { kept } : { kept, reason };
}

/**
 * Applies the `read` hooks to a result along its {@link ReadPlan}: each model's hook sees
 * each of its records whole (up to {@link READ_HOOK_CONCURRENCY} calls at once per list,
 * the order kept); a refused record is dropped from its list, a refused record a to-one
 * relation holds is noted in `findings.toOne`; a hook hiding a field its model does not
 * have (by `fieldsOf`, else by the record) fails; then each record is narrowed back to what
 * the query asked for and the hidden fields are removed. Mutates the records.
 *
 * @returns the result (a list without its refused records), and for a single record the
 * reason it was refused, if it was.
 * @throws {ReadHookFailure} when a hook throws or answers nonsense.
 */
export async function checkReadResult(
  result: unknown,
  plan: ReadPlan,
  hookOf: (model: string) => ReadHook | undefined,
  ctx: AuditContext,
  fieldsOf: ModelFields,
  findings: ReadFindings,
): Promise<{ result: unknown; refused?: string }> {
  if (Array.isArray(result)) return { result: (await checkRecords(result, plan, hookOf, ctx, fieldsOf, findings)).kept };
  if (!isRecord(result)) return { result };
  const checked = await checkRecords([result], plan, hookOf, ctx, fieldsOf, findings);
  return checked.reason === undefined ? { result } : { result, refused: checked.reason };
}
