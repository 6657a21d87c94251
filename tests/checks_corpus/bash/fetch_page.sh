#!/usr/bin/env bash
# Download a web page into a file (the manifest sets network = true).
set -o errexit -o nounset -o pipefail

readonly USER_AGENT="toolsmith-fetch"

main() {
  local url="$1"
  local output_file="$2"
  curl --fail --silent --show-error --location -A "$USER_AGENT" -o "$output_file" -- "$url"
  echo "saved $(wc -c < "$output_file") bytes to $output_file"
}

main "$@"
