#!/usr/bin/env python3
"""Turns a crate's README into a fresh crate that builds its example as a user would.

Usage: readme-example.py WORKSPACE_ROOT CRATE_DIR OUT_DIR

The README's FIRST ```toml block is the dependencies, written as a user writes them
(`[dependencies]` and `[dev-dependencies]` tables; lines with no table are dependencies). Its
FIRST ```rust block is the example, a complete program. OUT_DIR receives a crate outside the
workspace: every dependency on one of the workspace's crates becomes a `path =` dependency
(its version requirement, features and `default-features` kept, so a README asking for a
version the crate is not fails), the workspace's Cargo.lock is copied in (the same versions,
no new resolution), and the example is `examples/readme.rs` (dev-dependencies available).

Every problem exits 1 with a message naming the README.
"""

import json
import pathlib
import shutil
import subprocess
import sys
import tomllib


def fail(readme, message):
    sys.exit(f"{readme}: {message}")


def first_blocks(readme, text):
    """The first ```toml and the first ```rust block (a `rust,…` info string counts)."""
    blocks = {}
    lang, lines, fence = None, [], None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if fence is None:
            if stripped.startswith("```"):
                fence = stripped[: len(stripped) - len(stripped.lstrip("`"))]
                info = stripped[len(fence):].strip()
                lang = info.split(",")[0].strip()
                lines, start = [], number
        elif stripped == fence:
            if lang in ("toml", "rust") and lang not in blocks:
                blocks[lang] = ("\n".join(lines) + "\n", start)
            fence = None
        else:
            lines.append(line)
    if fence is not None:
        fail(readme, f"a ``` block opened on line {start} is never closed")
    for lang in ("toml", "rust"):
        if lang not in blocks:
            fail(readme, f"no ```{lang} block (the first one is the example's {'dependencies' if lang == 'toml' else 'program'})")
    return blocks["toml"], blocks["rust"]


def workspace_crates(root):
    """Package name -> directory, for every member of the workspace."""
    out = subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1", "--offline"],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout
    return {
        p["name"]: str(pathlib.Path(p["manifest_path"]).parent)
        for p in json.loads(out)["packages"]
    }


def toml_value(value):
    """A TOML inline value (strings, booleans, lists and tables of them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise ValueError(f"unsupported value {value!r}")


def main():
    root, crate_dir, out = (pathlib.Path(a).resolve() for a in sys.argv[1:4])
    readme = crate_dir / "README.md"
    if not readme.is_file():
        fail(readme, "no README.md")
    (toml_text, toml_line), (rust_text, rust_line) = first_blocks(readme, readme.read_text())
    try:
        parsed = tomllib.loads(toml_text)
    except tomllib.TOMLDecodeError as e:
        fail(readme, f"the ```toml block on line {toml_line} is not TOML: {e}")
    tables = {k: v for k, v in parsed.items() if isinstance(v, dict) and k.endswith("dependencies")}
    loose = {k: v for k, v in parsed.items() if k not in tables}
    manifest_keys = {"package", "features", "workspace", "lib", "bin", "example", "test",
                     "bench", "profile", "patch", "replace", "target", "lints", "badges"}
    unknown = [k for k, v in loose.items() if k in manifest_keys or (isinstance(v, dict) and not ("version" in v or "path" in v or "git" in v))]
    if unknown:
        fail(readme, f"the ```toml block on line {toml_line} has tables other than dependencies: {unknown}")
    if loose:
        tables.setdefault("dependencies", {}).update(loose)
    for name in tables:
        if name not in ("dependencies", "dev-dependencies"):
            fail(readme, f"the ```toml block on line {toml_line} has [{name}]: only [dependencies] and [dev-dependencies] are copied")
    if "fn main" not in rust_text:
        fail(readme, f"the ```rust block on line {rust_line} has no `fn main`: it must be a complete program")

    members = workspace_crates(root)
    manifest = [
        "[package]",
        f'name = "readme-{crate_dir.name}"',
        'version = "0.0.0"',
        'edition = "2024"',
        "publish = false",
        "",
    ]
    for table in ("dependencies", "dev-dependencies"):
        manifest.append(f"[{table}]")
        for name, spec in tables.get(table, {}).items():
            spec = {"version": spec} if isinstance(spec, str) else dict(spec)
            package = spec.get("package", name)
            if package in members:
                if "path" in spec or "git" in spec:
                    fail(readme, f"{name} is one of this workspace's crates: write it as a user would, with a version (not a path or git)")
                if "version" not in spec:
                    fail(readme, f"{name} has no version requirement")
                spec["path"] = members[package]
            manifest.append(f"{json.dumps(name)} = {toml_value(spec)}")
        manifest.append("")
    manifest += [
        # Its own workspace, whatever directory it is in.
        "[workspace]",
        "",
        # As the workspace builds: line tables for our code, no debug info for dependencies.
        "[profile.dev]",
        'debug = "line-tables-only"',
        "",
        '[profile.dev.package."*"]',
        "debug = false",
        "",
    ]

    if out.exists():
        shutil.rmtree(out)
    (out / "src").mkdir(parents=True)
    (out / "examples").mkdir()
    (out / "Cargo.toml").write_text("\n".join(manifest))
    (out / "src" / "lib.rs").write_text("//! The README example of one crate, built as a user would.\n")
    (out / "examples" / "readme.rs").write_text(rust_text)
    shutil.copy(root / "Cargo.lock", out / "Cargo.lock")


if __name__ == "__main__":
    main()
