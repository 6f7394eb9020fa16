#!/usr/bin/env bash
# Moves the packages that are not API under internal/ (issue 21), and
# rewrites what names them. Idempotent: after merging a branch written
# against the old paths, run it again to rewrite that branch's imports and
# test paths (a package already moved is left where it is; files a merge
# put in an old directory are moved along).
#
#   scripts/internalize.sh            # from the repository root
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs="reader column exact pipeline metrics"
mod=github.com/evalnll/evalnll

mkdir -p internal
for p in $pkgs; do
  [ -d "$p" ] || continue
  if [ -d "internal/$p" ]; then
    # A merge left files in the old directory: move them one by one.
    (cd "$p" && find . -type f) | while read -r f; do
      mkdir -p "internal/$p/$(dirname "$f")"
      git mv -k "$p/$f" "internal/$p/$f" 2>/dev/null || mv "$p/$f" "internal/$p/$f"
    done
    find "$p" -type d -empty -delete
  else
    git mv "$p" "internal/$p"
  fi
done

# Import paths, in every Go file.
expr=""
for p in $pkgs; do
  expr="$expr -e s#\"$mod/$p\"#\"$mod/internal/$p\"#g -e s#\"$mod/$p/#\"$mod/internal/$p/#g"
done
git ls-files -z '*.go' | xargs -0 sed -i $expr

# Tests that find the repository's testdata by a relative path are one
# level deeper now.
for p in $pkgs; do
  [ -d "internal/$p" ] || continue
  find "internal/$p" -name '*_test.go' -print0 | xargs -0 -r sed -i \
    -e 's#"\.\./testdata#"../../testdata#g' \
    -e 's#filepath\.Join("\.\.", "testdata"#filepath.Join("..", "..", "testdata"#g'
done

# Package paths in scripts and docs.
for f in .ci/run scripts/bench.sh BENCHMARKS.md README.md; do
  [ -f "$f" ] || continue
  for p in $pkgs; do
    sed -i -E -e "s#(^|[ (\`])\./$p([/ ]|\$)#\1./internal/$p\2#g" -e "s#(^|[ (\`])$p/([a-z_]+\.go)#\1internal/$p/\2#g" "$f"
  done
done
gofmt -l $(git ls-files "*.go") | xargs -r gofmt -w  # import blocks re-sorted
