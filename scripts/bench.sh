#!/usr/bin/env bash
# Reproduce BENCHMARKS.md: evalnll beside DuckDB and Polars on the peer
# benchmark of ../shared/bench (see its README.md).
#
#   scripts/bench.sh [--work DIR] [--runs N] [--only REGEX] [--skip-gen] [--skip-check]
#                    [--small-only] [--go-bench]
#
# Steps (each is skipped when its output is already there):
#   1. copy ../shared/bench to DIR (default /tmp/bench), install DuckDB,
#      Polars and Arrow from npm, check for GNU time;
#   2. generate the 1% copy (DIR/small) and the full data (DIR/data, 5.1 GB,
#      ~3 min), with their sizes.json and reference.json;
#   3. build evalnll (DIR/evalnll);
#   4. correctness: every task's figures vs reference.json (max relative
#      difference must be <= 1e-12) and byte-identical JSON with --workers
#      1, 2 and 3, at 1% scale, then on the full data (--skip-check: neither);
#   5. ./run.sh --evalnll DIR/evalnll --runs N (default 3): DIR/results/table.md;
#   6. --workers 1 vs 2 for each evalnll case (median of 3, GNU time):
#      DIR/results/workers.md;
#   7. with --go-bench, the Go benchmarks (metrics, exact, and pipeline on the
#      full data, decode-only beside eval): DIR/results/gobench.txt.
#
# The machine should be otherwise idle; run.sh's "other load" column says
# how much it was not. Compare evalnll with the peers within one run.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$REPO/../shared/bench}
WORK=/tmp/bench RUNS=3 ONLY='' SKIP_GEN=0 SKIP_CHECK=0 SMALL_ONLY=0 GO_BENCH=0
while [ $# -gt 0 ]; do
  case "$1" in
    --work) WORK=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --skip-gen) SKIP_GEN=1; shift ;;
    --skip-check) SKIP_CHECK=1; shift ;;
    --small-only) SMALL_ONLY=1; shift ;;
    --go-bench) GO_BENCH=1; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
log() { printf '== %s\n' "$*" >&2; }

# --- 1. set up -------------------------------------------------------------------
if [ ! -e "$WORK/run.sh" ]; then
  log "copy $SHARED to $WORK"
  mkdir -p "$WORK" && cp -r "$SHARED"/. "$WORK"/
fi
cd "$WORK"
if [ ! -d node_modules/@duckdb ]; then
  log "npm ci"
  # The lock file lists only the linux-x64 optional packages; newer npm
  # refuses `npm ci` with it, and `npm install` then resolves the same pinned
  # versions (checked below).
  npm ci --no-audit --no-fund || npm install --no-audit --no-fund
fi
node -e 'for (const p of ["@duckdb/node-api","nodejs-polars","apache-arrow"]) console.error(p, JSON.parse(require("fs").readFileSync("node_modules/" + p + "/package.json", "utf8")).version)'
[ -x /usr/bin/time ] || { log "installing GNU time"; apt-get install -y time; }

# --- 2. data -----------------------------------------------------------------------
gen() {  # DIR [gen options]
  local dir=$1; shift
  if [ "$SKIP_GEN" = 0 ] && [ ! -e "$dir/reference.json" ]; then
    log "generate $dir $*"
    node gen.mjs --out "$dir" "$@"
    node sizes.mjs "$dir" > "$dir/sizes.md"
    node reference.mjs "$dir" > "$dir/reference.log"
  fi
}
gen small --scale 0.01
[ "$SMALL_ONLY" = 1 ] || gen data
if [ -e data/binary.parquet ] && [ ! -e data/md5.txt ]; then
  (cd data && md5sum ./*.parquet ./*.arrow > md5.txt)
fi

# --- 3. build --------------------------------------------------------------------
log "build evalnll ($(cd "$REPO" && git rev-parse --short HEAD)$(cd "$REPO" && git diff --quiet || echo +dirty))"
# The release build: AVX-512 kernels where the processor has them (the same
# bits as the scalar build; GOEXPERIMENT= scripts/bench.sh times that one).
(cd "$REPO" && GOEXPERIMENT=${GOEXPERIMENT-simd} go build -o "$WORK/evalnll" ./cmd/evalnll)
"$WORK/evalnll" version
BIN=$WORK/evalnll
mkdir -p results

# --- 4. correctness ----------------------------------------------------------------
cat > "$WORK/check-evalnll.mjs" <<'EOF'
// node check-evalnll.mjs BIN DATA [WORKERS...]: evalnll's figures vs
// DATA/reference.json (fail above 1e-12 relative) and byte-identical JSON
// reports across the worker counts.
import fs from 'node:fs'; import { execFileSync } from 'node:child_process'; import path from 'node:path';
const [bin, data, ...ws] = process.argv.slice(2);
const workers = ws.length ? ws : ['1', '2'];
const REF = JSON.parse(fs.readFileSync(path.join(data, 'reference.json'), 'utf8'));
const cases = [
  ['binary.parquet', '--label label --prob p --by slice', 'binary', true],
  ['binary.arrow', '--label label --prob p --by slice', 'binary', true],
  ['binary_shards', '--label label --prob p --by slice', 'binary', true],
  ['binary_f32.parquet', '--label label --prob p', 'binary_f32', false],
  ['multiclass_logits.parquet', '--label label --logit logits', 'multiclass_logits', false],
  ['multiclass_logits.arrow', '--label label --logit logits', 'multiclass_logits', false],
  ['multiclass_probs.parquet', '--label label --prob probs', 'multiclass_probs', false],
  ['multiclass_probs.arrow', '--label label --prob probs', 'multiclass_probs', false],
  ['tokens.parquet', '--logprob token_logprobs', 'tokens', false],
  ['tokens.arrow', '--logprob token_logprobs', 'tokens', false],
];
let bad = 0;
const tmp = fs.mkdtempSync('/tmp/evalnll-check-');
for (const [f, args, ref, slices] of cases) {
  const input = path.join(data, f);
  if (!fs.existsSync(input)) continue;
  const outs = [];
  for (const w of workers) {
    const json = path.join(tmp, `r.${w}.json`);
    const cmd = [bin, 'eval', '--quiet', '--json', json, '--workers', w, ...args.split(' '), input];
    try { execFileSync(cmd[0], cmd.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] }); }
    catch (e) { console.log(`FAIL ${cmd.join(' ')}: ${e.stderr}`); bad++; continue; }
    outs.push([w, fs.readFileSync(json, 'utf8'), cmd.join(' ')]);
  }
  for (const [w, txt, cmd] of outs.slice(1)) if (txt !== outs[0][1]) { console.log(`NOT BYTE-IDENTICAL: --workers ${outs[0][0]} vs ${w}: ${cmd}`); bad++; }
  if (!outs.length) continue;
  const r = JSON.parse(outs[0][1]); const o = r.overall; const base = REF[ref][0];
  let worst = 0, wk = '';
  const cmp = (k, a, b) => { if (typeof a !== 'number' || typeof b !== 'number') return; const d = a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(b), 1e-300); if (d > worst) { worst = d; wk = `${k}: ${a} vs ref ${b}`; } };
  const mine = { rows: o.rows, tokens: o.tokens, nll: ref === 'tokens' ? o.nll_per_token : o.nll, perplexity: o.perplexity, accuracy: o.accuracy, brier: o.brier, ece: o.ece, mce: o.mce, clipped: o.clipped };
  for (const k of Object.keys(base)) if (k in mine) cmp(k, mine[k], base[k]);
  if (slices) for (const s of r.slices) { const b = REF.binary_slices.find((x) => x.slice === s.by.slice); cmp(`slice ${s.by.slice} rows`, s.rows, b.rows); cmp(`slice ${s.by.slice} nll`, s.nll, b.nll); }
  if (worst > 1e-12) bad++;
  console.log(`${worst > 1e-12 ? 'BAD' : 'ok '} ${f.padEnd(26)} workers ${workers.join(',')} identical; max rel diff vs reference ${worst.toExponential(2)} ${wk}`);
  if (worst > 1e-12) console.log(`    reproduce: ${outs[0][2]}`);
}
fs.rmSync(tmp, { recursive: true });
process.exit(bad ? 1 : 0);
EOF
if [ "$SKIP_CHECK" = 0 ]; then
  log "correctness at 1% scale"
  node check-evalnll.mjs "$BIN" small 1 2 3 | tee results/check-small.txt
  if [ "$SMALL_ONLY" = 0 ]; then
    log "correctness on the full data"
    node check-evalnll.mjs "$BIN" data 1 2 | tee results/check-full.txt
  fi
fi
[ "$SMALL_ONLY" = 1 ] && exit 0

# --- 5. the peer table ---------------------------------------------------------------
log "run.sh --evalnll $BIN --runs $RUNS ${ONLY:+--only $ONLY}"
./run.sh --evalnll "$BIN" --runs "$RUNS" ${ONLY:+--only "$ONLY"}
cp results/table.md "results/table.$(date -u +%Y%m%dT%H%M%SZ).md"

# --- 6. workers 1 vs 2 ---------------------------------------------------------------------
log "--workers 1 vs 2"
{
  echo "| case | workers | wall s (median of 5) | cpu s | peak MiB |"
  echo "|---|---:|---:|---:|---:|"
  for spec in "binary_nll|data/binary.parquet|--label label --prob p" \
              "binary_slices|data/binary.parquet|--label label --prob p --by slice" \
              "binary_nll.shards|data/binary_shards|--label label --prob p" \
              "binary_nll.f32|data/binary_f32.parquet|--label label --prob p" \
              "binary_nll.arrow|data/binary.arrow|--label label --prob p" \
              "logits_nll|data/multiclass_logits.parquet|--label label --logit logits" \
              "logits_nll.arrow|data/multiclass_logits.arrow|--label label --logit logits" \
              "probs_nll_ece|data/multiclass_probs.parquet|--label label --prob probs" \
              "probs_nll_ece.arrow|data/multiclass_probs.arrow|--label label --prob probs" \
              "tokens_nll|data/tokens.parquet|--logprob token_logprobs" \
              "tokens_nll.arrow|data/tokens.arrow|--logprob token_logprobs"; do
    IFS='|' read -r id input args <<<"$spec"
    for w in 1 2; do
      for i in 1 2 3 4 5; do
        # shellcheck disable=SC2086
        /usr/bin/time -f '%e %U %S %M' -o "results/w.$i" "$BIN" eval --quiet --json results/w.json --workers "$w" $args "$input"
      done
      cat results/w.[1-5] | sort -n | sed -n 3p |
        awk -v id="$id" -v w="$w" '{printf "| %s | %d | %.2f | %.2f | %.0f |\n", id, w, $1, $2 + $3, $4 / 1024}'
    done
  done
} | tee results/workers.md
rm -f results/w.[1-5] results/w.json

# --- 7. Go benchmarks ----------------------------------------------------------------------
if [ "$GO_BENCH" = 1 ]; then
  log "go test -bench (metrics, exact, pipeline on $WORK/data)"
  (cd "$REPO" && go test ./internal/metrics ./internal/exact -run '^$' -bench . -benchtime 1s -count 3 &&
    EVALNLL_BENCH_DATA="$WORK/data" go test ./internal/pipeline -run '^$' -bench . -benchtime 1x -count 3 -timeout 120m) |
    tee results/gobench.txt
fi
log "done: $WORK/results/table.md, workers.md"
