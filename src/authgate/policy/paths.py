"""Request-path normalisation and route patterns (RFC 3986 §2.1, §3.3, §5.2.4, §6.2.2).

Policy decisions are only as good as the path they are made on: a public ``/health`` must
never match ``/admin?x=/health``, ``/admin%23/health``, ``/health/../admin`` or
``//admin``. So the matcher works on the *raw* request path (``scope["raw_path"]``, cut at
``?``), normalised once, here, in a fixed order:

1. Refuse input longer than the cap, input that does not start with ``/`` and raw bytes
   outside printable ASCII, ``\\`` and ``#`` (RFC 3986 §3.3 allows neither raw; some
   servers treat ``\\`` as ``/``, which is how traversal filters are bypassed).
2. Split on the raw ``/`` only, then percent-decode each segment exactly once
   (RFC 3986 §2.1; decoding twice turns ``%252e`` into ``.``). An encoded slash ``%2F``
   is refused: after decoding, ``a%2Fb`` and ``a/b`` are indistinguishable and servers
   disagree on which one they mean. The decoded bytes must be UTF-8.
3. Refuse decoded control characters (``%00`` included), ``\\`` and ``;`` (path
   parameters: Tomcat and others strip ``;...`` from segments, so ``/public/..;/admin``
   would reach ``/admin`` while looking like ``/public/...``).
4. Drop empty segments (``//admin`` is ``/admin``, as nginx's ``merge_slashes``; a trailing
   slash is not significant) and resolve ``.``/``..`` — percent-encoded ones too, since
   ``%2e`` *is* ``.`` (§6.2.2.2) — as §5.2.4 does; a ``..`` above the root is refused
   rather than silently dropped.

Every refusal is an :class:`~authgate.errors.InvalidRequest` (400); nothing else escapes.

Patterns are written decoded: literal segments, ``{name}`` or ``*`` for exactly one
segment, and a final ``/**`` for zero or more segments (``/files/**`` matches ``/files``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from authgate.errors import InvalidRequest

__all__ = [
    "DEFAULT_MAX_PATH_LENGTH",
    "PathPattern",
    "SegmentKind",
    "normalize_path",
    "split_path",
]

DEFAULT_MAX_PATH_LENGTH = 2048

_HEX = frozenset("0123456789abcdefABCDEF")
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# characters a pattern's literal segment may not contain: they are syntax, or they are
# characters a normalised path never contains
_PATTERN_FORBIDDEN = frozenset("{}*;\\%?#")


def _is_control(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or 0x7F <= code < 0xA0


def _decode_segment(segment: str) -> str:
    """Percent-decode one raw segment exactly once (RFC 3986 §2.1)."""
    if "%" not in segment:
        return segment
    out = bytearray()
    i = 0
    n = len(segment)
    while i < n:
        ch = segment[i]
        if ch == "%":
            pair = segment[i + 1 : i + 3]
            if len(pair) != 2 or not (pair[0] in _HEX and pair[1] in _HEX):
                raise InvalidRequest("malformed percent-encoding in the path")
            byte = int(pair, 16)
            if byte == 0x2F:
                raise InvalidRequest("encoded '/' (%2F) is not allowed in the path")
            out.append(byte)
            i += 3
        else:
            out.append(ord(ch))
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("the path is not valid UTF-8") from None


def split_path(raw: str, *, max_length: int = DEFAULT_MAX_PATH_LENGTH) -> tuple[str, ...]:
    """Normalise a raw request path into its decoded segments.

    Args:
        raw: the path as received, still percent-encoded (``raw_path`` as latin-1 text);
            anything from the first ``?`` on is ignored.
        max_length: longest raw path accepted.

    Returns:
        The decoded segments after dot-segment removal; ``()`` for the root.

    Raises:
        InvalidRequest: for anything ambiguous or malformed (see the module docstring).
    """
    path = raw.partition("?")[0]
    if len(path) > max_length:
        raise InvalidRequest("the path is too long")
    if not path.startswith("/"):
        raise InvalidRequest("the path must start with '/'")
    for ch in path:
        if not ("!" <= ch <= "~") or ch in "\\#":
            raise InvalidRequest("the path contains a character that must be percent-encoded")
    out: list[str] = []
    raw_segments = path[1:].split("/")
    # Merging "//" and then resolving ".." disagrees with RFC 3986 §5.2.4 (where an empty
    # segment is a segment): /admin//../public is /admin/public there, /public here. An
    # upstream that follows the RFC would see another path than the policy decided on.
    if "" in raw_segments[:-1] and any(_decode_segment(r) == ".." for r in raw_segments):
        raise InvalidRequest("the path mixes empty segments with '..'")
    for raw_segment in raw_segments:
        segment = _decode_segment(raw_segment)
        if any(_is_control(c) or c in "\\;" for c in segment):
            raise InvalidRequest("the path contains a forbidden character")
        if segment in ("", "."):
            continue
        if segment == "..":
            if not out:
                raise InvalidRequest("the path escapes the root")
            out.pop()
            continue
        out.append(segment)
    return tuple(out)


def normalize_path(raw: str, *, max_length: int = DEFAULT_MAX_PATH_LENGTH) -> str:
    """The normalised, decoded path (``/`` joined :func:`split_path` segments).

    Raises:
        InvalidRequest: as :func:`split_path`.
    """
    return "/" + "/".join(split_path(raw, max_length=max_length))


class SegmentKind(IntEnum):
    """Kinds of pattern segments, ordered by specificity (higher wins)."""

    REST = 1
    """``**``: zero or more segments (last segment only)."""
    ONE = 2
    """``{name}`` or ``*``: exactly one segment."""
    LITERAL = 3
    """A literal segment, compared exactly (paths are case-sensitive, RFC 3986 §6.2.2.1)."""
    END = 4
    """Not a segment: the end of a pattern, which beats a ``**`` matching nothing."""


@dataclass(frozen=True, slots=True)
class PathPattern:
    """A compiled route pattern.

    Attributes:
        source: the pattern as written.
        kinds: the kind of each segment.
        literals: each segment's literal text ('' for wildcards).
    """

    source: str
    kinds: tuple[SegmentKind, ...]
    literals: tuple[str, ...]

    @classmethod
    def parse(cls, pattern: str) -> PathPattern:
        """Compile ``pattern``.

        Raises:
            ValueError: with a message saying what is wrong with the pattern.
        """
        if not pattern.startswith("/"):
            raise ValueError("a path pattern must start with '/'")
        if pattern == "/":
            return cls(pattern, (), ())
        if pattern.endswith("/"):
            raise ValueError("a path pattern must not end with '/' (trailing slashes never matter)")
        kinds: list[SegmentKind] = []
        literals: list[str] = []
        names: set[str] = set()
        parts = pattern[1:].split("/")
        for i, part in enumerate(parts):
            if part == "":
                raise ValueError("a path pattern must not contain empty segments ('//')")
            if part == "**":
                if i != len(parts) - 1:
                    raise ValueError("'**' is allowed only as the last segment")
                kinds.append(SegmentKind.REST)
                literals.append("")
            elif part == "*" or _PARAM.fullmatch(part):
                if part != "*":
                    if part in names:
                        raise ValueError(f"parameter {part} appears twice")
                    names.add(part)
                kinds.append(SegmentKind.ONE)
                literals.append("")
            elif part in (".", ".."):
                raise ValueError("dot-segments are not allowed in a pattern")
            elif any(c in _PATTERN_FORBIDDEN or _is_control(c) for c in part):
                raise ValueError(
                    f"segment {part!r}: wildcards must be whole segments ('{{name}}', '*', "
                    "'**') and literals are written decoded, without ; \\ % ? #"
                )
            else:
                kinds.append(SegmentKind.LITERAL)
                literals.append(part)
        return cls(pattern, tuple(kinds), tuple(literals))

    @property
    def specificity(self) -> tuple[int, ...]:
        """Sort key: compared left to right, the greater one is the more specific pattern."""
        return (*self.kinds, SegmentKind.END)

    @property
    def canonical(self) -> str:
        """The pattern with parameter names erased: equal for patterns matching the same paths."""
        parts = []
        for kind, literal in zip(self.kinds, self.literals, strict=True):
            parts.append({SegmentKind.REST: "**", SegmentKind.ONE: "*"}.get(kind, literal))
        return "/" + "/".join(parts)

    def matches(self, segments: tuple[str, ...]) -> bool:
        """True when the normalised ``segments`` match this pattern."""
        kinds = self.kinds
        if kinds and kinds[-1] is SegmentKind.REST:
            fixed = len(kinds) - 1
            if len(segments) < fixed:
                return False
        else:
            fixed = len(kinds)
            if len(segments) != fixed:
                return False
        for i in range(fixed):
            if kinds[i] is SegmentKind.LITERAL and segments[i] != self.literals[i]:
                return False
        return True
