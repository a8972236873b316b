#!/usr/bin/env bash
# Sourced by the scripts that run Python tools: python_tools NAME installs
# infra/NAME-tools.txt (every package pinned) into a venv at
# .cache/NAME-tools, once, and afresh whenever the list changes.
python_tools() {
  local list=infra/$1-tools.txt dir=.cache/$1-tools
  if ! cmp -s "$list" "$dir/installed.txt" 2>/dev/null; then
    echo "installing $1 tools into $dir" >&2
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$list"
    cp "$list" "$dir/installed.txt"
  fi
}
