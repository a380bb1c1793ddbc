import { MASK } from "./mask-rules";

/** A character of an authority written in text: not one a URL never holds raw (RFC 3986), nor whitespace, nor the `/`, `?` and `#` that end it. */
const AUTHORITY_CHAR = String.raw`[^\s/?#"'<>\\^\`{|}]`;

/**
 * A scheme, or a chain of them (`jdbc:postgresql:`), and its `://`, anywhere in text, then
 * the userinfo up to the authority's last `@` (a password may hold a raw `@`). A match
 * starts only at the start of a word and repetitions before the authority are bounded,
 * so the search is linear in the text.
 */
const SCHEME_USERINFO = new RegExp(String.raw`(?<![\w+.-])((?:[A-Za-z][\w+.-]{0,31}:){1,4}\/\/)${AUTHORITY_CHAR}*@`, "g");

/**
 * A host after a scheme-less userinfo: `localhost`, a bracketed IPv6 address, a dotted name
 * or IPv4 address, or a single label with a port (`db:5432`), ending the word.
 */
const BARE_HOST = String.raw`(?:localhost|\[[\dA-Fa-f:.]{2,45}\]|[A-Za-z\d-]{1,63}(?:\.[A-Za-z\d-]{1,63}){1,8}|[A-Za-z\d-]{1,63}(?=:\d))(?::\d{1,5})?(?=$|[\s/?#"'<>(),;.!\]}\\])`;

/**
 * `user:secret@host` without a scheme (a DSN, a proxy setting), as a word of its own or a
 * value after `=`: a user name, `:`, a password up to 256 characters (`@` and `:` in it
 * too), `@` and {@link BARE_HOST}. An e-mail address has no `:` before its `@`, and the
 * schemes that put an address there (`mailto:`, `sip:`, `xmpp:`) are left out, but a time
 * before a host (`10:30@venue.example.com`) is masked as well.
 */
const BARE_USERINFO = new RegExp(
  String.raw`(?<![^\s=(,;"'<>[{])(?!(?:mailto|sips?|xmpp|acct|im|pres|tel|news):)[\w.~%+-]{1,128}:${AUTHORITY_CHAR}{1,256}@(?=${BARE_HOST})`,
  "gi",
);

/**
 * `text` with the userinfo of every URL in it replaced by {@link MASK}, wherever the URL
 * sits (`see https://user:secret@host/`, `jdbc:postgresql://user:secret@host/db`), and of
 * every scheme-less `user:secret@host` ({@link BARE_USERINFO}). The whole userinfo is
 * masked, as a bare token is often the user name. Linear in the text.
 *
 * @example maskUserinfo("cache at redis://:pw@host:6379") // "cache at redis://****************@host:6379"
 */
export function maskUserinfo(text: string): string {
  // Both forms hold a `:` before an `@`: most strings lack one or the other.
  if (!text.includes("@") || !text.includes(":")) return text;
  return text.replace(SCHEME_USERINFO, `$1${MASK}@`).replace(BARE_USERINFO, `${MASK}@`);
}
