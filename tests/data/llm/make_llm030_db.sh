#!/bin/sh
# Makes logs-0.30.db: a logs.db written by llm 0.30 (the `responses` schema) with its echo model.
# The test suite makes llm 0.36's current schema itself with the installed `llm` (see
# tests/test_importers_llm.py); llm 0.30 cannot sit beside it in one environment, so its
# database is kept here. Run from anywhere:  sh tests/data/llm/make_llm030_db.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "llm==0.30" "llm-echo==0.4" httpx
export LLM_USER_PATH="$work/home"
mkdir -p "$LLM_USER_PATH"
llm="$work/venv/bin/llm"
printf 'frag text\n' > "$work/notes.txt"
printf 'sys frag\n' > "$work/system.txt"
printf '\211PNG\r\n\032\n0000' > "$work/cat.png"
"$llm" -m echo "hello there" > /dev/null
"$llm" -m echo -s "be terse" "second" > /dev/null
"$llm" -c "follow up" > /dev/null
"$llm" -m echo -f "$work/notes.txt" "with fragment" > /dev/null
"$llm" -m echo -T llm_version '{"prompt": "what version", "tool_calls": [{"name": "llm_version"}]}' > /dev/null
"$llm" -m echo -a "$work/cat.png" --sf "$work/system.txt" "describe" > /dev/null
cp "$LLM_USER_PATH/logs.db" "$here/logs-0.30.db"
rm -rf "$work"
echo "wrote $here/logs-0.30.db"
