#!/usr/bin/env bash
# Remove spaces and tabs at the ends of lines in the text files of a folder
# (*.txt and *.md unless --pattern says otherwise). Files without any are left untouched.
set -euo pipefail

main() {
    local pattern="*.txt *.md"
    local folder=""
    while [ "$#" -gt 0 ]; do
        case "$1" in
            --pattern) pattern="$2"; shift 2 ;;
            *) folder="$1"; shift ;;
        esac
    done
    if [ -z "$folder" ]; then
        echo "usage: tool.sh [--pattern GLOB] FOLDER" >&2
        exit 2
    fi
    local changed=0
    local globs glob file
    read -r -a globs <<< "$pattern"  # split on spaces without expanding the globs here
    shopt -s nullglob
    for glob in "${globs[@]}"; do
        for file in "$folder"/$glob; do
            if grep -q '[[:blank:]]$' "$file"; then
                sed -i 's/[[:blank:]]*$//' "$file"
                changed=$((changed + 1))
            fi
        done
    done
    echo "trimmed $changed files"
}

main "$@"
