"""Where the numbers come from: the conf/ files a run was composed from, in Hydra's
merge order, the ``[pub]`` / ``[assume]`` tags in their comments, and the rows of the
report's assumptions table.

The config files are found from ``.hydra/hydra.yaml`` (the group choices and the config
directory) and read in Hydra's merge order; values are the run's (``.hydra/config.yaml``),
comments are the repository's. A comment belongs to the key on its line, together with
comment-only lines that continue it (indented deeper than the next key); a comment block
right above a key belongs to that key (unless the key has a comment of its own and the
block carries no tag); an inline comment whose sentence runs on (the one above ends in
``;`` ``:`` ``,`` or a word like "the", or it starts with "(") joins the key above it; a
file's opening comment that explains the tags themselves belongs to no key. Only keys
whose comment carries a ``[pub...]`` or ``[assume...]`` tag are listed, with a flag when
the command line or a later file set the value; the named data files (``scenarios/``) a
run uses add their ``source`` line.
"""
from __future__ import annotations

import re
from pathlib import Path

from analysis.report.formatting import fmt_value_lines
from analysis.report.reader import conf_dir, config_dirs, get, hydra, read_yaml
from sim import dispatch as dispatch_policies
from sim.names import is_plain

TAG_RE = re.compile(r"\[(?:pub|assume)\b[^\]]*\]")
KEY_RE = re.compile(r"^(\s*)([A-Za-z_][\w-]*)\s*:(?=\s|$)")


def tags(comment: str) -> list[str]:
    """The [pub...] / [assume...] tags of a comment, each once, in order."""
    return list(dict.fromkeys(TAG_RE.findall(comment)))


def _uses_district_desk(policy) -> bool:
    """Whether the dispatch policy routes tickets through the district desks."""
    try:
        return dispatch_policies.policy_class(policy).uses_district_desk
    except (KeyError, TypeError):
        return False


def _split_comment(line: str) -> tuple[str, str | None, int]:
    """(code, comment text or None, column of '#') of a YAML line; '#' inside quotes
    or not preceded by a space is not a comment."""
    quote_ch = None
    for i, ch in enumerate(line):
        if quote_ch:
            if ch == quote_ch:
                quote_ch = None
        elif ch in "\"'":
            quote_ch = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip(), line[i + 1:].strip(), i
    return line.rstrip(), None, -1


def _is_legend(text: str) -> bool:
    """A comment that explains the tags themselves ("[pub] a published figure, [assume] ...")."""
    return "[pub]" in text and "[assume]" in text and re.search(r"\[pub\]\s+(a\s+)?publish", text) is not None


_RUN_ON_WORDS = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to",
                 "with"}


def _continues(before: str, after: str) -> bool:
    """Whether the inline comment ``after`` continues the sentence of ``before`` (the
    comment of a key above, same level or a parent): ``before`` ends in ``;`` ``:`` ``,``
    or a word like "the", or ``after`` starts with "(" right after a word."""
    before, after = before.rstrip(), after.lstrip()
    if not before or not after:
        return False
    if before[-1] in ";:,":
        return True
    last = re.findall(r"[A-Za-z]+$", before)
    if last and last[0].lower() in _RUN_ON_WORDS:
        return True
    return bool(last) and after[0] == "("


def parse_commented_yaml(path: Path) -> tuple[str | None, list[tuple[str, str]]]:
    """The ``# @package`` of a config file and its keys in order as (dotted key,
    comment) pairs (comment "" when none); keys under ``defaults`` and ``hydra`` and
    inside block lists are skipped. See the module docstring for which comment
    belongs to which key."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    package = None
    keys: list[list] = []  # [dotted, indent, comments]
    stack: list[tuple[int, str]] = []
    pending: list[tuple[int, str]] = []  # comment-only lines not yet assigned
    list_parent_indent = None  # inside a block list under a key at this indent
    seen_key = False
    chain = None  # the key whose inline comment the next key's comment may continue

    def flush(next_indent: int | None) -> list[str]:
        """Assign pending comment lines: deeper than the next key -> the previous key;
        the rest lead the next key (returned)."""
        nonlocal pending
        lead = []
        for col, text in pending:
            if keys and (next_indent is None or col > next_indent) and col > keys[-1][1]:
                keys[-1][2].append(text)
            elif next_indent is not None:
                lead.append(text)
        pending = []
        return lead

    for raw in lines:
        code, comment, col = _split_comment(raw)
        stripped = code.strip()
        if not stripped and comment is None:  # blank line: a leading block ends here
            flush(None)
            chain = None
            continue
        if not stripped:  # comment-only line
            if comment.startswith("@package"):
                package = comment.split(None, 1)[1].strip() if len(comment.split()) > 1 else None
                continue
            pending.append((col, comment))
            continue
        indent = len(code) - len(code.lstrip())
        if list_parent_indent is not None and (indent > list_parent_indent or stripped.startswith("-")):
            # inside a block list: its inline comments describe the list's key
            flush(indent)
            if comment and keys:
                keys[-1][2].append(comment)
            continue
        list_parent_indent = None
        if stripped.startswith("-"):
            chain = None
            list_parent_indent = stack[-1][0] if stack else -1
            flush(indent)
            if comment and keys:
                keys[-1][2].append(comment)
            continue
        m = KEY_RE.match(code)
        if not m:  # e.g. a continued flow value: keep its comment with the key
            flush(indent)
            if comment and keys:
                keys[-1][2].append(comment)
            continue
        lead = flush(indent)
        if not seen_key and lead and _is_legend(" ".join(lead)):
            lead = []
        if lead and comment and not TAG_RE.search(" ".join(lead)):
            lead = []  # an untagged block above a key with its own comment is context, not source
        seen_key = True
        name = m.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        dotted = ".".join([k for _, k in stack] + [name])
        stack.append((indent, name))
        if (comment and not lead and chain is not None and indent >= keys[chain][1]
                and _continues(" ".join(keys[chain][2]), comment)):
            keys[chain][2].append(comment)  # a sentence running on from the key above
            keys.append([dotted, indent, []])
            continue
        keys.append([dotted, indent, lead + ([comment] if comment else [])])
        chain = len(keys) - 1 if comment else None
    flush(None)
    out = [(d, " ".join(c).strip()) for d, _, c in keys if d.split(".")[0] not in ("defaults", "hydra")]
    return package, out


def config_files(run_dir: Path) -> list[tuple[Path, str]]:
    """The config files a run was composed from, in the order Hydra merged them (later
    wins), each with the key prefix its ``@package`` gives. A group's file is looked up
    in the run's config folders in Hydra's search order (the repository's conf/, then a
    user's ``--config-dir``), so a user's own scenario and what it extends are found."""
    _, hyd, _ = hydra(run_dir)
    dirs = config_dirs(hyd)
    choices = get(hyd, "runtime.choices", {}) or {}
    primary = dirs[0] / "config.yaml"
    defaults = (read_yaml(primary) or {}).get("defaults", []) if primary.is_file() else []
    order: list[tuple[str, str | None]] = []
    for item in defaults or []:
        if item == "_self_":
            order.append(("_self_", None))
        elif isinstance(item, dict):
            for group in item:
                order.append((str(group).split("@")[0].lstrip("/").replace("override ", ""), None))
    if ("_self_", None) not in order:
        order.insert(0, ("_self_", None))
    files = []
    for group, _ in order:
        if group == "_self_":
            if primary.is_file():
                files.append((primary, ""))
            continue
        choice = choices.get(group)
        path = _find([d / group for d in dirs], choice) if choice not in (None, "null") else None
        if path is not None:
            files.extend(_group_files(path, group, dirs=dirs))
    return files


def _find(folders: list[Path], name) -> Path | None:
    """``name.yaml`` in the first of a group's ``folders`` that has it (Hydra's search order)."""
    for folder in folders:
        path = folder / f"{name}.yaml"
        if path.is_file():
            return path
    return None


def _group_files(path: Path, group: str, seen: frozenset = frozenset(),
                 dirs: list[Path] | None = None) -> list[tuple[Path, str]]:
    """A group's chosen file preceded by the files of its group its own ``defaults``
    list names (e.g. conf/dispatch/pooled.yaml extends direct.yaml; a user's scenario
    extends ``beijing_2019`` or ``/scenario/beijing_2019``), in merge order (``_self_``
    where it stands, else last)."""
    defaults = (read_yaml(path) or {}).get("defaults") or []
    folders = [path.parent] + [d / group for d in dirs or []]
    before, after, self_seen = [], [], False
    for item in defaults:
        if item == "_self_":
            self_seen = True
            continue
        if not isinstance(item, str):
            continue
        name = item.split("/")[-1] if item.startswith(f"/{group}/") else item
        found = _find(folders, name)
        if found is not None and name not in seen:
            (after if self_seen else before).extend(_group_files(found, group, seen | {path.stem}, dirs))
    return [*before, (path, group), *after]


#: Config groups of the ticket side (unused when ``dispatch`` is null).
TICKET_GROUPS = ("tickets", "ranking")


def assumption_rows(run_dir: Path) -> list[dict]:
    """Every parameter of the run's config files whose comment carries a [pub] or
    [assume] tag: ``key, value, tags, comment, file, flags`` (flags: overridden on the
    command line or by a later file)."""
    run_dir = Path(run_dir)
    cfg, hyd, overrides = hydra(run_dir)
    conf = conf_dir(hyd)
    own = [d for d in config_dirs(hyd) if d != conf]  # a user's --config-dir folders
    groups = get(hyd, "runtime.choices", {}) or {}
    # A group choice (dispatch=pooled) picks a file; it sets no value on the command line.
    over_keys = [k for k in (o.split("=", 1)[0].lstrip("+~") for o in overrides if "=" in o) if k not in groups]
    parsed = []
    for path, group in config_files(run_dir):
        if group in TICKET_GROUPS and cfg.get("dispatch") is None and "dispatch" in cfg:
            continue  # dispatch=none: the ticket side is not simulated, its parameters are unused
        package, keys = parse_commented_yaml(path)
        prefix = "" if package == "_global_" or (group == "" and package is None) else (package or group)
        parsed.append((path, [(f"{prefix}.{k}" if prefix else k, c) for k, c in keys]))
    defined_in: dict[str, list[int]] = {}
    for i, (_, keys) in enumerate(parsed):
        for key, _ in keys:
            defined_in.setdefault(key, []).append(i)
    rows = []
    for i, (path, keys) in enumerate(parsed):
        user = _inside(path, own)
        for key, comment in keys:
            if not TAG_RE.search(comment) and not (user and _user_leaf(key, keys, defined_in, parsed, i)):
                continue
            later = [j for j in defined_in[key] if j > i]
            if any(TAG_RE.search(c) for j in later for k, c in parsed[j][1] if k == key):
                continue  # a later file's own tagged comment describes the value in force
            flags = []
            if later:
                flags.append(f"value set by {_rel(parsed[later[-1]][0], conf)}")
            if user and not TAG_RE.search(comment):
                flags.append("set by your own config file, without a [pub] or [assume] source")
            if any(o == key or o.startswith(key + ".") or key.startswith(o + ".") for o in over_keys):
                flags.append("set on the command line")
            if key.startswith("dispatch.district_desk") and not _uses_district_desk(get(cfg, "dispatch.policy")):
                flags.append("not used by this policy (only by policies through the district desks)")
            rows.append({"key": key, "value": get(cfg, key, "—"), "tags": tags(comment),
                         "comment": comment, "file": _rel(path, conf), "flags": flags,
                         "place": _place(path, conf, own)})
    listed = {r["key"] for r in rows}
    for r in rows:  # a section shows the entries that have no row of their own
        v = r["value"]
        if isinstance(v, dict) and any(f"{r['key']}.{k}" in listed for k in v):
            rest = {k: x for k, x in v.items() if f"{r['key']}.{k}" not in listed}
            shown = [k for k in v if k not in rest]
            r["value"] = (fmt_value_lines(rest, width=0) + f"\n({', '.join(shown)}: own rows below)" if rest
                          else "(a section: its entries are in the rows below)")
        else:
            r["value"] = fmt_value_lines(v)
    rows += _named_data_rows(cfg, conf.parent / "scenarios")
    return rows


#: Config keys naming a data file in scenarios/<folder>/<name>.yaml that states its source.
NAMED_DATA = (("arrivals.intraday_profile", "profiles"), ("arrivals.category_mix", "category_mix"),
              ("call_center.roster", "rosters"))


def _named_data_rows(cfg: dict, scenarios: Path) -> list[dict]:
    """A row per named data file the run read that states its source; the user's
    ``data_dir`` first, as the model searched it (sim.scenario_data), and a file of
    one's own is listed even without a source, flagged."""
    rows = []
    own = get(cfg, "data_dir")
    for key, folder in NAMED_DATA:
        name = get(cfg, key)
        if not is_plain(name):  # a name inside its folder, as the model read it (sim.names)
            continue
        places = [(Path(own).expanduser() / folder / f"{name}.yaml", True)] if isinstance(own, str) and own else []
        places.append((scenarios / folder / f"{name}.yaml", False))
        path, mine = next(((p, m) for p, m in places if p.is_file()), (None, False))
        if path is None:
            continue
        source = str((read_yaml(path) or {}).get("source", ""))
        if TAG_RE.search(source) or mine:
            flags = [] if TAG_RE.search(source) else ["your own data file (data_dir), without a [pub] or [assume] source"]
            rows.append({"key": f"{key} → data", "value": name, "tags": tags(source), "comment": source,
                         "file": path.as_posix() if mine else f"scenarios/{folder}/{name}.yaml", "flags": flags})
    return rows


def _inside(path: Path, folders: list[Path]) -> bool:
    """Whether ``path`` lies in one of ``folders``."""
    return any(Path(path).is_relative_to(f) for f in folders)


def _user_leaf(key: str, keys: list[tuple[str, str]], defined_in: dict, parsed: list, i: int) -> bool:
    """Whether an untagged key of a user's own file gets a row: it is a value (no key of
    the file lies under it) that no tagged comment of another file describes."""
    if any(k.startswith(key + ".") for k, _ in keys):
        return False
    return not any(TAG_RE.search(c) for j in defined_in.get(key, []) if j != i for k, c in parsed[j][1] if k == key)


def _place(path: Path, conf: Path, own: list[Path]) -> str:
    """A config file's place as if in conf/ (``conf/scenario/x.yaml``), for grouping;
    other files as :func:`_rel` gives them."""
    for folder in own:
        if Path(path).is_relative_to(folder):
            return f"conf/{Path(path).relative_to(folder).as_posix()}"
    return _rel(path, conf)


def _rel(path: Path, conf: Path) -> str:
    try:
        return str(Path(path).relative_to(conf.parent))
    except ValueError:
        return str(path)
