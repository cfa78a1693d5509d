"""Security findings on a tool definition: hidden instructions, deceptive Unicode, capabilities.

``find_flags(name, description, input_schema, annotations)`` returns flag objects
``{"id", "name", "severity", "evidence"}``. A flag never changes the label; a high one makes the
exported policy deny, and any medium/high one blocks the default allow. Ids are ``F1xx`` and
never reused:

    F101        annotation conflict (raised by ``classifier.classify``)
    F102-F109   hidden instructions in the description or parameter descriptions
    F110-F115   invisible or deceptive Unicode
    F120-F121   tool shadowing (``shadowing()``: needs the catalog's other names)
    F150-F155   capability tags: low severity, informational, never block on their own

Texts longer than ``SCAN_LIMIT`` are scanned at the head and the tail for instructions (hidden
text is often appended to a long description), fully for invisible characters, and flagged
F109. Instruction patterns read the Unicode *skeleton* of the text (NFKC, invisible characters
dropped, lookalikes mapped to ASCII) so that ``ig\\u200bnore`` or Cyrillic ``о`` do not evade them.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any, Final

from classifier.confusables import INVISIBLE, check_name, check_text, homoglyphs, show, skeleton
from classifier.screen import Branches, Screen, ScreenGroup, ScreenText
from classifier.tokens import split_name

__all__ = ["FLAGS", "FLAGS_BY_ID", "SCAN_LIMIT", "Flag", "find_flags", "shadow_key", "shadowing"]

HIGH: Final = "high"
MEDIUM: Final = "medium"
LOW: Final = "low"
_SEVERITY_ORDER: Final = {HIGH: 0, MEDIUM: 1, LOW: 2}

#: Longest text scanned whole for instructions; beyond it, the head and the tail (half each).
SCAN_LIMIT: Final = 64 * 1024
_MAX_SCHEMA_NODES: Final = 2000
_MAX_HITS: Final = 50


@dataclass(frozen=True, slots=True)
class Flag:
    id: str
    name: str
    severity: str
    message: str

    def make(self, evidence: str) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "severity": self.severity, "evidence": evidence}


FLAGS: Final[tuple[Flag, ...]] = (
    Flag("F101", "annotation-conflict", MEDIUM, "annotations claim less than the name/description show"),
    Flag("F102", "hidden-instruction-tag", HIGH, "an <IMPORTANT>/<SYSTEM>-style tag or chat-template token"),
    Flag("F103", "instruction-override", HIGH, "tells the model to ignore its instructions or the user"),
    Flag("F104", "conceal-from-user", HIGH, "tells the model to hide something from the user"),
    Flag("F105", "secret-exfiltration", HIGH, "tells the model to read or pass along secrets or files"),
    Flag("F106", "cross-tool-hijack", HIGH, "changes how other tools are used, or where data goes"),
    Flag("F107", "encoded-payload", MEDIUM, "a long base64 or hex blob, or one that decodes to text"),
    Flag("F108", "encoded-instruction", HIGH, "an encoded blob that decodes to hidden instructions"),
    Flag("F109", "oversized-text", MEDIUM, "a text too long to scan whole"),
    Flag("F110", "invisible-text-smuggling", HIGH, "text spelled in tag characters or variation selectors"),
    Flag("F111", "bidi-control", HIGH, "bidi override/isolate characters that reorder what is shown"),
    Flag("F112", "invisible-in-name", HIGH, "invisible or control characters in a name"),
    Flag("F113", "invisible-characters", MEDIUM, "zero-width or other invisible characters in text"),
    Flag("F114", "homoglyph-name", HIGH, "a name spelled with lookalikes of ASCII letters"),
    Flag("F115", "mixed-script-text", MEDIUM, "words mixing Latin with lookalike letters"),
    Flag("F120", "tool-shadowing", HIGH, "a name confusable with another server's tool"),
    Flag("F121", "tool-name-collision", LOW, "another server's tool has this name (up to case/separators)"),
    Flag("F150", "capability-code-execution", LOW, "runs code, shell commands or SQL"),
    Flag("F151", "capability-file-system", LOW, "reads or writes local files"),
    Flag("F152", "capability-network-egress", LOW, "fetches or posts to a caller-given URL"),
    Flag("F153", "capability-credentials", LOW, "handles secrets, keys or passwords"),
    Flag("F154", "capability-payments", LOW, "moves money"),
    Flag("F155", "capability-messaging", LOW, "sends messages or posts as the user"),
)
FLAGS_BY_ID: Final = {f.id: f for f in FLAGS}

# ---------------------------------------------------------------------------------------------
# Hidden instructions. Each pattern is bounded: no nested quantifiers, gaps of fixed length.

_I = re.IGNORECASE
# Not <instructions> or <important_notes>: XML-structured descriptions use them openly.
_TAG_WORDS = (r"important|system|system[_ -]?(?:prompt|message|override)|hidden|secret|admin|override"
              r"|(?:ai|llm|model|agent|assistant)[_ -]?(?:instructions?|notes?)"
              r"|note[_ -]?(?:to|for)[_ -]?(?:ai|the[_ ]?assistant|assistant|model|llm|agent)")
_TAG = re.compile(
    rf"<\s*/?\s*(?:{_TAG_WORDS})\s*>"
    r"|\[\s*/?\s*(?:system|inst|hidden|admin)\s*\]"
    r"|<\|\s*(?:im_start|im_end|system|endoftext|start_header_id|eot_id)\s*\|>"
    r"|<!--[^>]{0,300}?\b(?:ignore|assistant|instructions?|do not|must|always|never)\b",
    _I,
)
_OVERRIDE = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:(?:all|any|the|your|every|of)\s+){0,3}"
    r"(?:previous|prior|preceding|above|earlier|former|original|existing|system|safety|security|other)"
    r"\s+(?:instructions?|directions?|directives?|rules?|prompts?|guidelines?|guardrails?|policies"
    r"|constraints|messages|context)\b"
    r"|\byou\s+are\s+now\s+(?:a|an|the|acting|operating|free|allowed|authori[sz]ed|permitted|unrestricted"
    r"|jailbroken|dan)\b"
    r"|\bnew\s+(?:system\s+)?(?:instructions|rules|directives)\s*:"
    r"|\b(?:system|developer|admin)\s+override\b"
    r"|\b(?:these|this|the\s+following)\s+(?:instructions?|rules?|notes?)\s+(?:take|takes|have|has)\s+"
    r"(?:precedence|priority)\b"
    r"|\b(?:supersedes?|overrides?)\s+(?:all|any)\s+(?:other|previous|prior)\b"
    r"|\b(?:without|no\s+need\s+(?:to|for)|never)\s+(?:ask(?:ing)?|confirm(?:ing)?|check(?:ing)?)\s+"
    r"(?:with\s+|for\s+)?(?:the\s+)?users?\b"
    r"|\bwithout\s+(?:the\s+)?users?'?s?\s+(?:knowledge|consent|approval|permission|confirmation)\b"
    r"|\b(?:the\s+)?user\s+has\s+(?:already\s+)?(?:pre-?)?(?:approved|authori[sz]ed|consented\s+to)\s+"
    r"(?:this|all|any|these)\b"
    r"|\bpretend\s+(?:to\s+be|that\s+you)\b"
    r"|\b(?:previous|prior|earlier|above|original|all\s+other)\s+(?:instructions|directives|rules|guidelines)\s+"
    r"(?:are|is|have\s+been)\s+(?:now\s+)?(?:void|null|revoked|cancell?ed|canceled|outdated|obsolete|superseded"
    r"|no\s+longer)\b"
    r"|\b(?:obey|follow)\s+only\s+(?:the\s+)?(?:text|instructions|output|commands)\b",
    _I,
)
_TELL = (r"tell|telling|mention|mentioning|inform|informing|notify|notifying|alert|alerting|reveal|revealing"
         r"|disclose|disclosing|warn|warning|report|reporting|acknowledge|acknowledging")
_CONCEAL = re.compile(
    rf"\b(?:do\s+not|don'?t|never|must\s+not|should\s+not|shall\s+not|without|avoid)\s+(?:ever\s+)?(?:{_TELL})"
    r"\s+(?:(?:this|that|it|anything|any\s+of\s+this|about\s+(?:this|it))\s+)?(?:to\s+|with\s+)?"
    r"(?:the\s+|your\s+)?(?:users?|humans?|operators?|customers?|them)\b"
    r"|\b(?:do\s+not|don'?t|never)\s+let\s+(?:the\s+)?users?\s+(?:know|see|notice|find\s+out)\b"
    rf"|\b(?:no\s+need|not\s+necessary|unnecessary)\s+to\s+(?:{_TELL})\b[^.\n]{{0,40}}?\b(?:users?|them)\b"
    rf"|\b(?:do\s+not|don'?t|never|must\s+not|without)\s+(?:{_TELL}|discuss|discussing|talk\s+about)\s+"
    r"(?:(?:this|these|that|the|any|such)\s+)(?:\w+\s+)?(?:instructions?|steps?|notes?|sidenotes?|requirements?"
    r"|tool\s+calls?|rules?|actions?|behaviou?r|side\s+effects?)\b"
    r"|\b(?:hide|conceal|keep)\s+(?:this|it|that|these\s+\w+)\s+(?:(?:hidden|secret)\s+)?from\s+"
    r"(?:the\s+)?users?\b"
    r"|\b(?:keep|treat)\s+(?:this|these)\s+(?:instructions?|steps?|notes?|messages?)\s+(?:as\s+)?"
    r"(?:secret|hidden|confidential|private)\b"
    r"|\b(?:the\s+)?users?\s+(?:must|should|need|needs|does|do)\s*(?:not|never|n't)\s+(?:need\s+)?(?:to\s+)?"
    r"(?:know|see|notice|find\s+out|learn|be\s+(?:told|informed|aware|notified))\b"
    r"|\b(?:silently|quietly|secretly|covertly|discreetly|invisibly)\s+(?:\w+\s+){0,2}(?:send|forward|upload"
    r"|copy|include|add|read|call|bcc|cc|exfiltrate|append|post|collect|transfer|attach|pass|run|execute)\b",
    _I,
)
_SECRET_PATH = re.compile(
    r"(?:~|\$HOME|%USERPROFILE%|/home/[\w.-]{1,32}|/Users/[\w.-]{1,32}|/root)/\.[\w.-]{1,40}"
    r"|\.ssh\b|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\bauthorized_keys\b|(?<![\w.$/-])\.env(?:\.[a-z]+)?\b"
    r"|\bmcp\.json\b|\bclaude_desktop_config\b|\.aws/(?:credentials|config)\b|\.(?:npmrc|pypirc|netrc"
    r"|pgpass|git-credentials|bash_history|zsh_history|gnupg)\b|\.kube/config\b|\.docker/config\.json"
    r"|/etc/(?:passwd|shadow|sudoers)\b|\bwallet\.dat\b|\b(?:credentials|secrets?)\.(?:json|ya?ml|toml)\b"
    r"|\bLogin\s+Data\b|\bcookies\.sqlite\b|\bkeychain\b|\bprintenv\b|/proc/self/environ\b",
    _I,
)
_SECRET_WORDS = re.compile(
    r"\b(?:(?P<cred>(?:ssh|private|api|access|secret|signing|gpg|pgp|aws|openai|stripe|github)[\s_-]+keys?"
    r"|credentials|passwords?|passphrases?|(?:auth|access|bearer|session|refresh|oauth|api|github)[\s_-]+tokens?"
    r"|environment\s+variables?|env\s+vars|(?:seed|recovery)\s+phrases?|mnemonic|cookies|secrets)"
    r"|(?:conversation|chat|message|session)\s+(?:history|log|logs|transcripts?)|previous\s+messages"
    r"|(?:entire|full|whole|complete)\s+(?:conversation|chat|context)|system\s+prompt|private\s+data)\b",
    _I,
)
# Imperatives that move data somewhere, and where to.
_MOVE = re.compile(
    r"\b(?:send|forward|upload|post|leak|exfiltrate|transmit|email|share|append|embed|include|copy|copie|dump"
    r"|attach|pass|put|paste|insert|provide|supply|add|collect|gather|encode|report|contain)(?:s|d|ed|ing)?\b",
    _I,
)
_READ = re.compile(r"\b(?:read|cat|open|load|fetch|get|retrieve|extract|obtain|access|contents?\s+of)\b", _I)
_ORDER = re.compile(
    r"\b(?:before|first|prior\s+to|after(?:wards)?|otherwise|must|always|also|additionally|as\s+well|each\s+time"
    r"|every\s+time|whenever|required|mandatory|will\s+(?:not\s+work|fail))\b",
    _I,
)
_SINK = re.compile(
    r"\b(?:as|in|into|inside|within|to|via|through|using|with)\s+(?:the\s+|a\s+|its\s+|this\s+)?[`'\"]?"
    r"(?P<param>\w{1,40})[`'\"]?\s+(?:parameter|param|field|argument|arg|property|value)\b"
    r"|\bas\s+[`'\"](?P<quoted>\w{1,40})[`'\"]|\b(?P<here>here)\b"
    r"|\bsidenote\b|\bhttps?://|[\w.+-]{1,64}@[\w-]{1,63}\.[\w.]{2,20}|\bwebhook\b|\bendpoint\b",
    _I,
)
_CRED_PARAM = re.compile(r"key|token|passw|secret|credential|auth|cookie|env|mnemonic|seed|phrase", _I)
_CROSS_TOOL = re.compile(
    # "when using send_email, always also BCC ..." / "before using this tool, call send_message"
    r"\b(?:when(?:ever)?|each\s+time|every\s+time|if|before|after)\s+(?:the\s+)?(?:user\s+|you\s+|agent\s+)?"
    r"(?:use|uses|using|call|calls|calling|invoke|invokes|invoking|run|runs|running|send|sends|sending)\s+"
    r"(?:the\s+|any\s+)?`?[\w.-]{2,60}`?[^.\n]{0,160}?\b(?:bcc|cc|blind[\s-]copy|forward|redirect|reroute"
    r"|send\s+(?:a\s+)?cop(?:y|ies)|change\s+the\s+(?:recipient|destination|account|address|payee))\b"
    r"|\b(?:before|after|prior\s+to|instead\s+of)\s+(?:using|calling|running|invoking)\s+"
    r"(?:(?:this|any|the|other|every|each)\s+){1,2}(?:`?[\w.-]{2,60}`?\s+)?tools?,?\s+(?:(?:you\s+)?(?:must|should|always|first|also)\s+){0,3}(?:call|use|invoke|run)\s+(?:the\s+)?"
    r"`?\w{0,30}(?:send|post|upload|email|mail|forward|share|transfer|write|exec|shell|command|http|webhook)"
    r"\w{0,30}`?"
    r"|\ball\s+(?:e-?mails|messages|payments|transfers|funds|invoices|transactions|files)\s+(?:must|should"
    r"|need\s+to|are\s+to)\s+(?:also\s+)?be\s+(?:sent|forwarded|redirected|routed|copied|bcc'?d|cc'?d"
    r"|transferred|uploaded)\s+to\b"
    r"|\b(?:change|replace|set|switch|override)\s+the\s+(?:recipient|to\s+address|destination|account\s+number"
    r"|iban|wallet(?:\s+address)?|payee|webhook\s+url|beneficiary)\s+(?:to|with)\b"
    r"|\b(?:the\s+)?`?\w{2,60}`?\s+tool\s+(?:is|has\s+been)\s+(?:broken|compromised|malicious|unsafe|insecure"
    r"|hacked)\b"
    r"|\b(?:compromised|malicious|hacked|backdoored|untrusted)\b[^.\n]{0,100}\binstead\b"
    r"|\binstead\b[^.\n]{0,100}\b(?:compromised|malicious|hacked|backdoored|untrusted)\b",
    _I,
)
_DESTINATION = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}\.[\w.]{2,20}|\bhttps?://\S{3,}|\b0x[0-9a-f]{40}\b", _I)
_REDIRECT_VERB = re.compile(
    r"\b(?:bcc|cc|forward|redirect|send\s+(?:a\s+)?cop(?:y|ies)|also\s+send|route"
    r"|(?:hidden|silent|extra|additional|secret)\s+recipient)\b",
    _I,
)
_EVERY = re.compile(r"\b(?:always|all|every|each|any|whenever|regardless|also|silently)\b", _I)
# "every *_API_KEY environment variable", "any AWS access keys you can find": collecting secrets.
_ALL_SECRETS = re.compile(
    r"\b(?:every|all|any|each)\s+(?:\S+\s+){0,3}?(?:secrets?|keys?|tokens?|credentials|passwords?"
    r"|environment\s+variables?|env\s+vars)\b",
    _I,
)
_B64 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/=])")
_HEX = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{32,}(?![0-9A-Fa-f])|(?:\\x[0-9A-Fa-f]{2}){16,}")
_HEX_OPAQUE: Final = 129  # longer than a SHA-512 in hex
_B64_OPAQUE: Final = 200

# Capabilities read the name's words and the parameter names.
_EXEC_WORDS = frozenset({"exec", "execute", "eval", "shell", "bash", "terminal", "powershell", "cmd", "repl",
                         "subprocess", "sh", "zsh"})
_RUN_OBJECTS = frozenset({"code", "command", "commands", "script", "python", "javascript", "js", "sql",
                          "query", "shell", "bash", "process", "notebook", "cell", "snippet"})
_EXEC_PARAMS = frozenset({"command", "cmd", "script", "code", "shell_command", "sql", "python_code",
                          "js_code"})
_FILE_WORDS = frozenset({"file", "files", "directory", "directories", "dir", "folder", "filesystem", "fs"})
_FILE_PARAMS = frozenset({"path", "file_path", "filepath", "filename", "file", "directory", "dir", "folder",
                          "source_path", "dest_path", "destination_path", "target_path", "paths",
                          "file_name"})
_URL_PARAMS = frozenset({"url", "uri", "endpoint", "webhook", "webhook_url", "href", "link", "target_url",
                         "callback_url", "urls", "page_url", "request_url"})
_NET_WORDS = frozenset({"fetch", "request", "http", "https", "download", "browse", "navigate", "scrape",
                        "crawl", "curl", "visit", "webhook", "url", "web", "webpage", "goto"})
_CRED_WORDS = frozenset({"secret", "secrets", "credential", "credentials", "password", "passwords", "apikey",
                         "vault", "keychain", "passphrase"})
_CRED_PARAMS = frozenset({"password", "secret", "api_key", "apikey", "private_key", "client_secret",
                          "access_token", "auth_token", "secret_key", "passphrase", "refresh_token", "token"})
_PAY_WORDS = frozenset({"payment", "payments", "pay", "charge", "refund", "refunds", "payout", "payouts",
                        "withdraw", "withdrawal", "purchase", "buy", "checkout", "invoice", "transfer"})
_MONEY = re.compile(r"\b(?:send|transfer|withdraw|pay)\s+(?:\w+\s+)?(?:money|funds|crypto|usdc|eth|btc|sol"
                    r"|tokens|payments?)\b|\bpayments?\b", _I)
_MSG_VERBS = frozenset({"send", "post", "reply", "publish", "tweet", "forward", "broadcast", "dm", "notify"})
_MSG_OBJECTS = frozenset({"email", "emails", "mail", "message", "messages", "sms", "text", "tweet", "post",
                          "slack", "chat", "dm", "whatsapp", "telegram", "discord", "notification", "reply",
                          "comment", "status", "toot", "cast"})
_EXEC_TEXT = re.compile(r"\bexecutes?\s+(?:arbitrary|shell|python|javascript|bash|sql|code|commands?)\b", _I)
_FILE_TEXT = re.compile(r"\b(?:file\s?system|local\s+files?)\b", _I)
_NET_TEXT = re.compile(r"\b(?:fetch|request|download|scrape|navigate)", _I)
_ON_BEHALF = re.compile(r"\b(?:on\s+behalf\s+of|as\s+the\s+(?:authenticated\s+)?user)\b", _I)

# The patterns that read whole texts, behind screens (``classifier.screen``): each runs only on
# texts holding the words any of its matches needs. Same results, a fraction of the scans.
_INSTRUCTIONS: Final = (("F102", _TAG), ("F103", _OVERRIDE), ("F104", _CONCEAL), ("F106", _CROSS_TOOL))
#: The instruction patterns, then _SECRET_PATH, _SECRET_WORDS and _DESTINATION.
_TEXT_SCREENS: Final = ScreenGroup(Screen(p) for p in (*(p for _, p in _INSTRUCTIONS), _SECRET_PATH,
                                                      _SECRET_WORDS, _DESTINATION))
#: The long patterns searched with only the alternatives a text may match (``Branches``).
_BRANCHES: Final = {p: Branches(p) for _, p in _INSTRUCTIONS}
_SECRET_PATH_BRANCHES: Final = Branches(_SECRET_PATH)
_SECRET_WORDS_BRANCHES: Final = Branches(_SECRET_WORDS)
_DESTINATION_BRANCHES: Final = Branches(_DESTINATION)
_EXEC_SCREEN: Final = Screen(_EXEC_TEXT)
_FILE_SCREEN: Final = Screen(_FILE_TEXT)
_EXEC_FILE_SCREENS: Final = ScreenGroup((_EXEC_SCREEN, _FILE_SCREEN))
#: A description read whole for capabilities too: both groups' screens, with one first test.
_DESCRIPTION_SCREENS: Final = ScreenGroup((*_TEXT_SCREENS.screens, *_EXEC_FILE_SCREENS.screens))
_TEXT_COUNT: Final = len(_TEXT_SCREENS.screens)
_TEXT_BITS: Final = (1 << _TEXT_COUNT) - 1
_NET_SCREEN: Final = Screen(_NET_TEXT)
_MONEY_SCREEN: Final = Screen(_MONEY)
_ON_BEHALF_SCREEN: Final = Screen(_ON_BEHALF)
#: Description characters read for capabilities.
_CAPABILITY_HEAD: Final = 4000
#: Every base64 (40+) or hex (32+ digits, or 16+ ``\\xHH``) blob lies in a whitespace-free stretch this long.
_BLOB_MIN: Final = 32
#: Each ASCII byte that ``str.split`` splits on -> 0, any other -> 1: a whitespace-free stretch of
#: ``_BLOB_MIN`` characters is then ``_BLOB_RUN``.
_ASCII_NON_SPACE_BYTES: Final = bytes(0 if b < 128 and chr(b).isspace() else 1 for b in range(256))
_BLOB_RUN: Final = b"\x01" * _BLOB_MIN


# ---------------------------------------------------------------------------------------------


def find_flags(
    name: str,
    description: str | None = None,
    input_schema: Mapping[str, Any] | None = None,
    annotations: Mapping[str, Any] | None = None,
    *,
    name_words: list[str] | None = None,
    description_words: set[str] | None = None,
) -> list[dict[str, str]]:
    """All findings for one definition, at most one per flag id, most severe first.

    What a caller has computed already saves work: ``name_words``, ``split_name(name)``;
    ``description_words``, the set of alphanumeric runs of ``description.lower()``.
    """
    name = name if isinstance(name, str) else ""
    description = description if isinstance(description, str) else None
    names: list[str] = []
    params: list[tuple[str | None, str, str]] = []
    if type(input_schema) is dict or (input_schema is not None and _is_mapping(input_schema)):
        names, params = _schema_texts(input_schema)
    title = None
    if type(annotations) is dict or (annotations is not None and _is_mapping(annotations)):
        title = annotations.get("title")
    # The description read whole for capabilities too (the common case): screened once, for both paths.
    described: tuple[ScreenText, int] | None = None
    if description is not None and description.isascii() and len(description) <= _CAPABILITY_HEAD:
        scan = (ScreenText(description, folded=(description.lower(), description_words))
                if description_words is not None and description else ScreenText(description))
        bits = _DESCRIPTION_SCREENS.passing(scan)
        described = scan, bits
        joined = "".join(names)  # plain printable ASCII when each name is
        if not bits & _TEXT_BITS and name.isascii() and name.isprintable() and joined.isascii() \
                and joined.isprintable() and _quiet_texts(description, params, title):
            # The common case: only the capability checks can find anything.
            if name_words is None:
                name_words = split_name(name)
            if not bits and _CAP_WORDS.isdisjoint(name_words) and _CAP_PARAMS.isdisjoint(
                    map(str.lower, names)):
                return []
            return _capabilities_only(name, name_words, scan, names, bits >> _TEXT_COUNT)
    return _find_all(name, description, names, params, title, name_words, description_words, described)


def _collector() -> tuple[dict[str, dict[str, str]], Callable[[str, str], None]]:
    """Findings by flag id, and the ``add(flag_id, evidence)`` that keeps the first of each id."""
    found: dict[str, dict[str, str]] = {}

    def add(flag_id: str, evidence: str) -> None:
        if flag_id not in found:
            found[flag_id] = FLAGS_BY_ID[flag_id].make(evidence)

    return found, add


def _quiet_texts(description: str, params: list[tuple[str | None, str, str]], title: object) -> bool:
    """True when no text of the tool can give a finding, given an ASCII description short enough
    for the capability checks that passes no instruction screen: it holds no blob, and each
    other text is ``_quiet``; False otherwise (``_find_all`` then reads every text)."""
    if _may_hold_blob(description):
        return False
    for _, _, text in params:
        if not _quiet(text):
            return False
    return not (isinstance(title, str) and title and not _quiet(title))


def _capabilities_only(
    name: str, name_words: list[str] | None, head: ScreenText, names: list[str], head_bits: int
) -> list[dict[str, str]]:
    """The findings of ``_check_capabilities`` alone (``head_bits``: ``_EXEC_FILE_SCREENS``' bits)."""
    found, add = _collector()

    pset = set(map(str.lower, names))
    pset.discard("")
    _check_capabilities(name, name_words, head, pset, add, [bool(head_bits & 1), bool(head_bits & 2)])
    return list(found.values())  # all low, added in id order: sorted


def _quiet(text: str) -> bool:
    """True when reading ``text`` (a parameter's or the title) can find nothing (``_quiet_texts``)."""
    return (text.isascii() and len(text) <= SCAN_LIMIT and not _may_hold_blob(text)
            and not _TEXT_SCREENS.passing(ScreenText(text)))


def _find_all(
    name: str,
    description: str | None,
    names: list[str],
    params: list[tuple[str | None, str, str]],
    title: object,
    name_words: list[str] | None,
    description_words: set[str] | None,
    described: tuple[ScreenText, int] | None = None,
) -> list[dict[str, str]]:
    """``find_flags`` reading every text: the reference that its quick answer must equal.

    ``described``: the description's ``ScreenText`` and ``_DESCRIPTION_SCREENS.passing`` bits, when
    known (an ASCII description read whole for capabilities too)."""
    found, add = _collector()

    # check_name and check_text have nothing to say about plain printable ASCII: not called for it.
    if not (name.isascii() and name.isprintable()):
        check_name(name, "name", add)
    joined = "".join(names)
    if not (joined.isascii() and joined.isprintable()):
        for key in names:
            if key and not (key.isascii() and key.isprintable()):
                check_name(key, _param_where(key), add)
    texts: list[tuple[str, str, str | None]] = [("description", description or "", None)]
    if params:
        texts += [(_param_where(k) if w is None else w, t, k or None) for w, k, t in params]
    if isinstance(title, str) and title:
        texts.append(("title", title, None))
    head: ScreenText | None = None
    head_mays: list[bool] | None = None  # the capability screens on ``head``, when known
    for i, (where, text, param) in enumerate(texts):
        if not text.isascii():
            check_text(text, where, add, limit=SCAN_LIMIT)
        if len(text) > SCAN_LIMIT:
            add("F109", f"{where} has {len(text):,} characters; instructions scanned in the first and "
                        f"last {SCAN_LIMIT // 2:,}")
        for window in (text,) if 0 < len(text) <= SCAN_LIMIT else _windows(text):
            bits = None
            if i == 0 and described is not None:
                scan, bits = described
            elif i == 0 and description_words is not None and window.isascii() and window is text:
                scan = ScreenText(window, folded=(window.lower(), description_words))
            else:
                scan = ScreenText(skeleton(window))
            if i == 0 and len(text) <= _CAPABILITY_HEAD:
                head = scan  # the whole description: the capability checks read the same text
                if bits is None:
                    bits = _DESCRIPTION_SCREENS.passing(scan)
                mays = _DESCRIPTION_SCREENS.unpack(bits)
                _check_instructions(scan, where, add, param=param, mays=mays[:_TEXT_COUNT])
                head_mays = mays[_TEXT_COUNT:]
            else:
                _check_instructions(scan, where, add, param=param)
    if head is None:
        head = ScreenText(skeleton((description or "")[:_CAPABILITY_HEAD]))
    pset = set(map(str.lower, names))
    pset.discard("")
    _check_capabilities(name, name_words, head, pset, add, head_mays)
    if len(found) < 2:
        return list(found.values())
    return sorted(found.values(), key=lambda f: (_SEVERITY_ORDER[f["severity"]], f["id"]))


def _windows(text: str) -> list[str]:
    if len(text) <= SCAN_LIMIT:
        return [text] if text else []
    half = SCAN_LIMIT // 2
    return [text[:half], text[-half:]]


def _is_mapping(value: object) -> bool:
    # The exact tests first: an ABC check is slow (and None, a missing key, is common).
    return type(value) is dict or (value is not None and isinstance(value, Mapping))


#: Keys under which a schema node holds other nodes; a node with none of them is a leaf.
_NESTING_KEYS: Final = frozenset({"properties", "items", "additionalProperties", "not", "anyOf", "oneOf",
                                  "allOf", "prefixItems", "$defs", "definitions"})


def _schema_texts(schema: Mapping[str, Any]) -> tuple[list[str], list[tuple[str | None, str, str]]]:
    """``_walk_schema(schema)``, found at once for the common schema: parameters whose schemas hold
    no text and nest nothing, under a root that nests nothing else."""
    if type(schema) is dict:
        props = schema.get("properties")
        if type(props) is dict and len(props) <= 500 and len(_NESTING_KEYS.intersection(schema)) == 1:
            for pname, pschema in props.items():
                if type(pname) is not str or type(pschema) is not dict:
                    break
                if not _TEXT_OR_NESTING.isdisjoint(pschema):
                    break
            else:
                return list(props), []
    return _walk_schema(schema)


def _walk_schema(schema: Mapping[str, Any]) -> tuple[list[str], list[tuple[str | None, str, str]]]:
    """The parameter names, and (where, parameter name, its description/title/enum/default text) for
    each text, over the whole schema, bounded.

    ``where`` is None for a parameter: ``_param_where(name)`` names it, built only for a parameter
    with a text (most have none). A node's description or title is reported as ``schema``, with
    the name "". A parameter's own description and title are reported with the parameter, not
    again as the ``schema`` text of its node (``own_texts_reported``).
    """
    names: list[str] = []
    out: list[tuple[str | None, str, str]] = []
    stack: list[tuple[Any, int, bool]] = [(schema, 0, False)]
    seen = 0
    while stack and seen < _MAX_SCHEMA_NODES:
        node, depth, own_texts_reported = stack.pop()
        seen += 1
        if node is None or depth > 12 or not _is_mapping(node):
            continue  # None: a parameter's schema with nothing left to read (it still counts)
        if depth and not own_texts_reported:
            for key in ("description", "title"):
                value = node.get(key)
                if isinstance(value, str) and value:
                    out.append(("schema", "", value))
        nesting = _NESTING_KEYS.intersection(node)
        if not nesting:
            continue
        only_properties = len(nesting) == 1 and "properties" in nesting
        props = node.get("properties")
        if _is_mapping(props):
            pushed: list[tuple[Any, int, bool]] = []
            leaf = (None, depth + 1, True)  # a parameter's schema that nests nothing
            nested = False
            for pname, pschema in islice(props.items(), 500):
                if type(pname) is not str:
                    pname = str(pname)
                names.append(pname)
                if type(pschema) is dict or isinstance(pschema, Mapping):
                    if not _TEXT_KEYS.isdisjoint(pschema) and (text := _own_text(pschema)):
                        out.append((None, pname, text))
                    if _NESTING_KEYS.isdisjoint(pschema):
                        pushed.append(leaf)
                    else:
                        pushed.append((pschema, depth + 1, True))
                        nested = True
            if only_properties and not nested:
                # Only leaves, popped next and doing nothing but count: counted here instead.
                seen += len(pushed)
            else:
                stack.extend(pushed)
        if only_properties:
            continue  # the common case: nothing else to push
        for key in ("items", "additionalProperties", "not"):
            if _is_mapping(node.get(key)):
                stack.append((node[key], depth + 1, False))
        for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            if isinstance(node.get(key), list):
                stack.extend((n, depth + 1, False) for n in node[key][:50])
        for key in ("$defs", "definitions"):
            if _is_mapping(node.get(key)):
                stack.extend((n, depth + 1, False) for n in islice(node[key].values(), 200))
    return names, out


#: The keys of a parameter's schema that ``_own_text`` reads.
_TEXT_KEYS: Final = frozenset({"description", "title", "default", "enum"})
_TEXT_OR_NESTING: Final = _TEXT_KEYS | _NESTING_KEYS


def _own_text(pschema: Mapping[str, Any]) -> str:
    """A parameter's description, title, default and (string) enum values, one a line."""
    texts = [v for k in ("description", "title", "default") if isinstance(v := pschema.get(k), str)]
    enum = pschema.get("enum")
    if isinstance(enum, list):  # crawled schemas hold anything: 5, "abc", {...}
        strings = [e for e in enum[:50] if isinstance(e, str)]
        if len(strings) < 50 < len(enum):  # not all strings: the first 50 strings lie further on
            strings = [e for e in enum if isinstance(e, str)][:50]
        texts += strings
    return "\n".join(texts)


def _param_where(pname: str) -> str:
    return f"parameter '{show(pname, 40)}'"


def _excerpt(text: str, m: re.Match[str], before: int = 30, after: int = 60) -> str:
    return show(text[max(0, m.start() - before) : m.end() + after], 140)


def _check_instructions(
    scan: ScreenText,
    where: str,
    add: Any,
    *,
    param: str | None = None,
    decoded: bool = False,
    mays: list[bool] | None = None,
) -> bool:
    """Instruction flags on one (skeleton) text; True when any high one fired.

    ``mays``: ``_TEXT_SCREENS.may_match_all(scan)``, when the caller has it."""
    fired = False
    text = scan.text
    if mays is None:
        mays = _TEXT_SCREENS.may_match_all(scan)
    if True not in mays:  # the common case: no pattern can match
        if not decoded:
            _check_encoded(text, where, add)
        return False
    *instructions, secret_path, secret_words, destination = mays
    for (flag_id, pattern), may in zip(_INSTRUCTIONS, instructions, strict=True):
        m = _first(_BRANCHES[pattern].finditer(scan), text) if may else None
        if m:
            add(flag_id, f"{where}: {_excerpt(text, m)}")
            fired = True
    m = _exfiltration(scan, param, secret_path, secret_words) if secret_path or secret_words else None
    if m:
        add("F105", f"{where}: {_excerpt(text, m, 80, 80)}")
        fired = True
    m = _redirect(scan) if destination else None
    if m:
        add("F106", f"{where}: {_excerpt(text, m, 60, 60)}")
        fired = True
    if not decoded:
        _check_encoded(text, where, add)
    return fired


_NEGATED = re.compile(r"\b(?:not|never|no|don'?t|cannot|can'?t|won'?t|must\s+not|nothing)\b[^.\n]{0,100}$",
                      _I)


def _first(matches: Iterator[re.Match[str]], text: str) -> re.Match[str] | None:
    """The first of a pattern's ``matches`` in ``text`` that is not a restriction: "never delete
    without telling the user" is fine."""
    for i, m in enumerate(matches):
        if i >= _MAX_HITS:
            break
        negated = _NEGATED.search(text, max(0, m.start() - 100), m.start())
        if m.group().lower().startswith("without") and negated:
            continue
        return m
    return None


def _span(text: str, m: re.Match[str], width: int = 200) -> str:
    """The sentence-ish context around a match: up to ``width`` characters each side."""
    start, end = max(0, m.start() - width), min(len(text), m.end() + width)
    left = max(text.rfind(". ", start, m.start()), text.rfind("\n\n", start, m.start()))
    right_dot, right_nl = text.find(". ", m.end(), end), text.find("\n\n", m.end(), end)
    rights = [r for r in (right_dot, right_nl) if r != -1]
    return text[left + 1 if left != -1 else start : min(rights) if rights else end]


def _exfiltration(
    scan: ScreenText, param: str | None, secret_path: bool = True, secret_words: bool = True
) -> re.Match[str] | None:
    """A secret file with a read/move verb and an order or a sink; other secrets need a move and a sink.

    A credential going into a parameter named for it (``api_key``) is ordinary use, not a leak.
    ``secret_path``/``secret_words``: False when that pattern cannot match (its screen said so).
    """
    text = scan.text
    for i, m in enumerate(_SECRET_PATH_BRANCHES.finditer(scan) if secret_path else ()):
        if i >= _MAX_HITS:
            break
        ctx = _span(text, m)
        if (_MOVE.search(ctx) or _READ.search(ctx)) and (_ORDER.search(ctx) or _sink(ctx, param, False)):
            return m
    for i, m in enumerate(_SECRET_WORDS_BRANCHES.finditer(scan) if secret_words else ()):
        if i >= _MAX_HITS:
            break
        ctx = _span(text, m)
        # Only the alternatives with the group have it (``Branches``): a match of another has it None.
        cred = "cred" in m.re.groupindex and m.group("cred") is not None
        if _MOVE.search(ctx) and (_sink(ctx, param, cred) or _ALL_SECRETS.search(ctx)):
            return m
    return None


def _sink(ctx: str, param: str | None, credential: bool) -> bool:
    for i, m in enumerate(_SINK.finditer(ctx)):
        if i >= _MAX_HITS:
            break
        target = m.group("param") or m.group("quoted")
        if target and target.lower() in ("this", "that", "the", "its", "same"):
            target = param
        if m.group("here"):
            if param is None:
                continue
            target = param
        if credential and target and _CRED_PARAM.search(target):
            continue
        return True
    return False


def _redirect(scan: ScreenText) -> re.Match[str] | None:
    """'always BCC x@evil.com', 'forward every message to https://...' without a tool name."""
    text = scan.text
    for i, m in enumerate(_DESTINATION_BRANCHES.finditer(scan)):
        if i >= _MAX_HITS:
            break
        ctx = _span(text, m, 160)
        if _REDIRECT_VERB.search(ctx) and _EVERY.search(ctx):
            return m
    return None


def _printable(data: bytes) -> str | None:
    """The text ``data`` holds when it reads as text (mostly printable, some words), else None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    good = sum(ch.isprintable() or ch in "\n\t" for ch in text)
    if len(text) < 12 or good < 0.95 * len(text) or not re.search(r"[A-Za-z]{3,}\W+[A-Za-z]{2,}", text):
        return None
    return text


def _check_encoded(text: str, where: str, add: Any) -> None:
    # A blob holds no whitespace and what borders it is whitespace or not of its alphabet: the
    # patterns find the same blobs, in the same order, in the long whitespace-free stretches alone.
    if not _may_hold_blob(text):
        return  # the common case, found without splitting the text
    stretches = [s for s in text.split() if len(s) >= _BLOB_MIN]
    if not stretches:
        return
    for i, m in enumerate(chain.from_iterable(map(_B64.finditer, stretches))):
        if i >= _MAX_HITS:
            break
        blob = m.group()
        if not (re.search(r"[a-z]", blob) and re.search(r"[A-Z]", blob) and re.search(r"[0-9+/]", blob)):
            continue
        try:
            data = base64.b64decode(blob + "=" * (-len(blob) % 4))
        except (binascii.Error, ValueError):
            data = b""
        _report_blob("base64", blob, _printable(data) if data else None, _B64_OPAQUE, where, add)
    for i, m in enumerate(chain.from_iterable(map(_HEX.finditer, stretches))):
        if i >= _MAX_HITS:
            break
        blob = m.group()
        digits = blob.replace("\\x", "")
        if len(digits) % 2 or not (re.search(r"[0-9]", digits) and re.search(r"[A-Fa-f]", digits)):
            continue
        plain = _printable(bytes.fromhex(digits))
        _report_blob("hex", blob, plain, _HEX_OPAQUE if not blob.startswith("\\x") else 0, where, add)


def _may_hold_blob(text: str) -> bool:
    """False when ``text`` has no whitespace-free stretch of ``_BLOB_MIN`` characters (then no blob)."""
    # Each non-ASCII character as "?", not a space: a stretch stays as long (or grows, at a space).
    return len(text) >= _BLOB_MIN and _BLOB_RUN in text.encode("ascii", "replace").translate(
        _ASCII_NON_SPACE_BYTES)


def _report_blob(kind: str, blob: str, plain: str | None, opaque: int, where: str, add: Any) -> None:
    if plain is not None:
        if _check_instructions(ScreenText(skeleton(plain)), f"{where} ({kind}-decoded)", lambda _i, _e: None,
                               decoded=True):
            add("F108", f"{where}: {kind} {show(blob, 24)} decodes to '{show(plain, 100)}'")
        else:
            add("F107", f"{where}: {kind} {show(blob, 24)} decodes to '{show(plain, 80)}'")
    elif len(blob) >= opaque:
        add("F107", f"{where}: {kind} blob of {len(blob)} characters: {show(blob, 40)}")


# ---------------------------------------------------------------------------------------------
# Capabilities (low: informational)


def _check_capabilities(
    name: str,
    name_words: list[str] | None,
    head: ScreenText,
    params: set[str],
    add: Any,
    head_mays: list[bool] | None = None,
) -> None:
    """``head``: the skeleton of the description's first ``_CAPABILITY_HEAD`` characters;
    ``params``: the parameter names, lower case; ``head_mays``: ``_EXEC_FILE_SCREENS.may_match_all(head)``
    when the caller has it."""
    words = split_name(name) if name_words is None else name_words
    wset = set(words)
    pset = params
    if _CAP_WORDS.isdisjoint(wset) and _CAP_PARAMS.isdisjoint(pset):
        # The common case: nothing in the name or the parameters, only the text can say more.
        may_exec, may_file = _EXEC_FILE_SCREENS.may_match_all(head) if head_mays is None else head_mays
        if may_exec and _EXEC_TEXT.search(head.text):
            add("F150", _cap_evidence(name, set()))
        if may_file and _FILE_TEXT.search(head.text):
            add("F151", _cap_evidence(name, set()))
        return
    exec_hit = (wset & _EXEC_WORDS) or ("run" in wset and wset & _RUN_OBJECTS) or pset & _EXEC_PARAMS
    if exec_hit or _EXEC_SCREEN.search(head):
        add("F150", _cap_evidence(name, pset & _EXEC_PARAMS))
    if (wset & _FILE_WORDS) or pset & _FILE_PARAMS or _FILE_SCREEN.search(head):
        add("F151", _cap_evidence(name, pset & _FILE_PARAMS))
    # Cheap set tests first: the text is searched only when its answer can matter.
    fetches = pset & _URL_PARAMS and (wset & _NET_WORDS or _NET_SCREEN.search(head))
    if fetches or (_HTTP_FETCH & wset and _URL_REQUEST & wset):
        add("F152", _cap_evidence(name, pset & _URL_PARAMS))
    if wset & _CRED_WORDS or (wset >= _API_KEY) or pset & _CRED_PARAMS:
        add("F153", _cap_evidence(name, pset & _CRED_PARAMS))
    pays = wset & _PAY_WORDS and (wset - _PAY_UNSURE or _MONEY_SCREEN.search(head))
    sends = wset & _SEND_WORDS
    # The head's first 500 characters: the head itself when no longer (its words known already).
    first = head if len(head.text) <= 500 else ScreenText(head.text[:500])
    if pays or (sends and _MONEY_SCREEN.search(first)):
        add("F154", _cap_evidence(name, set()))
    as_user = words and words[0] in _AS_USER_VERBS and _ON_BEHALF_SCREEN.search(head)
    if (wset & _MSG_VERBS and wset & _MSG_OBJECTS) or as_user:
        add("F155", _cap_evidence(name, set()))


_HTTP_FETCH: Final = frozenset({"http", "fetch"})
_URL_REQUEST: Final = frozenset({"url", "request"})
_API_KEY: Final = frozenset({"api", "key"})
_PAY_UNSURE: Final = frozenset({"transfer", "checkout", "invoice"})
_SEND_WORDS: Final = frozenset({"send", "create", "transfer", "make"})
_AS_USER_VERBS: Final = frozenset({"send", "post", "reply", "tweet"})
#: Every name word and parameter name that ``_check_capabilities`` reads: without one of them only
#: the text (code execution, file system) can tag the tool.
_CAP_WORDS: Final = frozenset().union(
    _EXEC_WORDS, {"run"}, _FILE_WORDS, _NET_WORDS, _HTTP_FETCH, _URL_REQUEST, _CRED_WORDS, _API_KEY,
    _PAY_WORDS, _SEND_WORDS, _MSG_VERBS, _MSG_OBJECTS, _AS_USER_VERBS,
)
_CAP_PARAMS: Final = _EXEC_PARAMS | _FILE_PARAMS | _URL_PARAMS | _CRED_PARAMS


def _cap_evidence(name: str, params: set[str]) -> str:
    ev = f"name '{show(name, 60)}'"
    return ev + (f", parameter '{sorted(params)[0]}'" if params else "")


# ---------------------------------------------------------------------------------------------
# Shadowing


def shadow_key(name: str) -> str:
    """NFKC, casefold, lookalikes to ASCII, separators and invisible characters dropped.

    Index the catalog's names by this key; equal keys are shadowing candidates.
    """
    if not isinstance(name, str):
        return ""
    return re.sub(r"[\W_]+", "", skeleton(name).casefold())


def _deceptive(name: str) -> bool:
    return bool(homoglyphs(name) or (not name.isascii() and INVISIBLE.search(name))
                or any(unicodedata.category(c) in ("Cc", "Cf") for c in name))


def shadowing(name: str, other_names_by_server: Mapping[str, Iterable[str]]) -> list[dict[str, str]]:
    """Findings for ``name`` against the tool names of *other* servers (the caller leaves its own out).

    F120 (high) when ``name`` uses lookalike or invisible characters to pass for another server's
    tool; F121 (low) when it equals one up to case and separators (common and usually innocent:
    ``search``, ``list_issues``). The innocent side of a spoof is not flagged.
    """
    key = shadow_key(name)
    if not key:
        return []
    spoofs: list[str] = []
    same: list[str] = []
    for server, names in other_names_by_server.items():
        for other in names:
            if not isinstance(other, str) or shadow_key(other) != key:
                continue
            if other != name and _deceptive(name) and not _deceptive(other):
                spoofs.append(f"'{show(other, 60)}' of {show(str(server), 80)}")
            else:
                same.append(f"'{show(other, 60)}' of {show(str(server), 80)}")
    out = []
    if spoofs:
        more = f" and {len(spoofs) - 3} more" if len(spoofs) > 3 else ""
        out.append(FLAGS_BY_ID["F120"].make(f"'{show(name, 60)}' passes for {', '.join(spoofs[:3])}{more}"))
    if same:
        more = f" and {len(same) - 3} more" if len(same) > 3 else ""
        out.append(FLAGS_BY_ID["F121"].make(f"'{show(name, 60)}' also in {', '.join(same[:3])}{more}"))
    return out

