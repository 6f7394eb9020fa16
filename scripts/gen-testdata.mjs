// Writes testdata/users: prediction files as DuckDB and Polars write them
// (LZ4_RAW Parquet, DECIMAL columns, string and categorical labels,
// scikit-learn predict_proba pairs, CSV and JSON Lines, Hive-partitioned
// folders), and cases.json: the evalnll command for each and the figures
// it must report, computed here by DuckDB's SQL from the same rows (not
// by evalnll).
//
//   mkdir -p /tmp/gen && cp ../shared/bench/package.json /tmp/gen && (cd /tmp/gen && npm install)
//   NODE_PATH=/tmp/gen/node_modules node scripts/gen-testdata.mjs [--out testdata/users] [--big DIR]
//
// --big DIR also writes the 20000- and 100000-row LZ4_RAW files (about
// 1 MB each, not committed) into DIR, with DIR/cases.json; the Go test
// reads them when EVALNLL_USERS_BIG=DIR is set.
//
// Rows are a pure function of the row number (DuckDB's hash), so the files
// are the same from run to run for a pinned DuckDB and Polars.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(path.join(process.env.NODE_PATH || process.cwd(), 'x.js'));
const { DuckDBInstance } = require('@duckdb/node-api');
const pl = require('nodejs-polars');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf('--' + name);
  return i >= 0 ? args[i + 1] : dflt;
};
const OUT = opt('out', 'testdata/users');
const BIG = opt('big', '');

const db = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await db.connect();
const q = (p) => `'${p.replaceAll("'", "''")}'`;
const run = (sql) => con.run(sql);
async function rows(sql) {
  const r = await con.runAndReadAll(sql);
  return r.getRowObjectsJS();
}

await run(`
  CREATE MACRO u01(a, b) AS ((hash(a, b, 20261206::BIGINT) >> 11)::DOUBLE / 9007199254740992.0);
  CREATE MACRO sigmoid(z) AS (1.0 / (1.0 + exp(-z)));
  CREATE MACRO clip(p) AS (greatest(least(p, 1.0 - 1e-15), 1e-15));
`);

// Figures of a binary run, from a query with columns y (0/1), p, and w
// (weight, 1 when unweighted): the SPEC's definitions (eps 1e-15).
async function binaryFigures(from) {
  const [r] = await rows(`
    SELECT count(*)::BIGINT AS n,
      sum(w * CASE WHEN y = 1 THEN -ln(clip(p)) ELSE -ln(1 - clip(p)) END) / sum(w) AS nll,
      sum(w * (p - y) * (p - y)) / sum(w) AS brier,
      sum(w * CASE WHEN (p >= 0.5) = (y = 1) THEN 1 ELSE 0 END) / sum(w) AS accuracy
    FROM (${from})`);
  return { 'overall.rows': Number(r.n), 'overall.nll': r.nll, 'overall.brier': r.brier, 'overall.accuracy': r.accuracy };
}

const cases = [];
// A case: evalnll eval ARGS --json R INPUTS (relative to the folder of
// cases.json); expect maps report paths to values, or exit/stderr give the
// expected failure.
function addCase(list, name, argv, inputs, expect) {
  list.push({ name, args: argv, inputs, ...expect });
}

// Binary predictions of a miscalibrated model: real-looking probabilities,
// spread over (0, 1), as float64 (which LZ4 cannot shrink).
const binarySQL = (n) => `
  SELECT (u01(i, 1) < sigmoid(z * 1.3 - 0.2))::INT AS y, sigmoid(z) AS p
  FROM (SELECT i, (u01(i, 2) - 0.5) * 8.0 AS z FROM range(${n}) t(i))`;

// 1. LZ4_RAW Parquet from DuckDB (COMPRESSION lz4) and Polars
// (compression: 'lz4'). Polars writes the rows DuckDB made.
async function lz4Files(dir, sizes, list) {
  fs.mkdirSync(path.join(dir, 'lz4'), { recursive: true });
  for (const n of sizes) {
    const duck = path.join(dir, 'lz4', `duckdb_${n}.parquet`);
    const polars = path.join(dir, 'lz4', `polars_${n}.parquet`);
    await run(`COPY (${binarySQL(n)}) TO ${q(duck)} (FORMAT parquet, COMPRESSION lz4)`);
    const r = await con.runAndReadAll(`SELECT * FROM ${q(duck)}`);
    const cols = r.getColumnsObjectJS();
    pl.DataFrame({ y: cols.y, p: cols.p }).writeParquet(polars, { compression: 'lz4' });
    const want = await binaryFigures(`SELECT y, p, 1.0 AS w FROM ${q(duck)}`);
    const check = await binaryFigures(`SELECT y, p, 1.0 AS w FROM ${q(polars)}`);
    if (JSON.stringify(want) !== JSON.stringify(check)) throw new Error(`Polars wrote other rows: ${JSON.stringify(check)}`);
    for (const [who, f] of [['duckdb', duck], ['polars', polars]]) {
      addCase(list, `lz4_${who}_${n}`, ['--label', 'y', '--prob', 'p'], [path.relative(dir, f)], { expect: want });
    }
  }
}

await lz4Files(OUT, [100, 1000], cases);

// 2. DECIMAL predictions, weights and Gaussian columns. DuckDB stores
// DECIMAL(4,3) and (9,6) in INT32, (18,15) in INT64 and (38,30) in a
// 16-byte FIXED_LEN_BYTE_ARRAY; Polars writes its Decimal(p,s) casts.
// The expected figures use DuckDB's CAST(d AS DOUBLE).
{
  const dir = path.join(OUT, 'decimal');
  fs.mkdirSync(dir, { recursive: true });
  const duck = path.join(dir, 'duckdb.parquet');
  await run(`COPY (
    SELECT y, round(p, 3)::DECIMAL(4,3) AS p4, round(p, 6)::DECIMAL(9,6) AS p9,
      p::DECIMAL(18,15) AS p18, p::DECIMAL(38,30) AS p38,
      (0.5 + round(u01(i, 3) * 1.5, 2))::DECIMAL(5,2) AS w,
      round(m + (u01(i, 5) - 0.5) * 3.0, 4)::DECIMAL(9,4) AS g,
      round(m, 4)::DECIMAL(9,4) AS m, (0.5 + round(u01(i, 6), 3))::DECIMAL(6,3) AS s
    FROM (SELECT row_number() OVER () - 1 AS i, * FROM (${binarySQL(500)})),
      LATERAL (SELECT (u01(i, 4) - 0.5) * 40.0 AS m)
  ) TO ${q(duck)} (FORMAT parquet)`);
  const r = await con.runAndReadAll(`SELECT y, p9::DOUBLE AS p9, p38::DOUBLE AS p38 FROM ${q(duck)}`);
  const c = r.getColumnsObjectJS();
  const polars = path.join(dir, 'polars.parquet');
  pl.DataFrame({ y: c.y, p9: c.p9, p38: c.p38 })
    .withColumns(pl.col('p9').cast(pl.Decimal(9, 6)), pl.col('p38').cast(pl.Decimal(38, 30)))
    .writeParquet(polars);
  // The same as an Arrow IPC file: decimal128 columns.
  pl.DataFrame({ y: c.y, p9: c.p9, p38: c.p38 })
    .withColumns(pl.col('p9').cast(pl.Decimal(9, 6)), pl.col('p38').cast(pl.Decimal(38, 30)))
    .writeIPC(path.join(dir, 'polars.arrow'));
  const fig = (col, w = '1.0') => binaryFigures(`SELECT y, ${col}::DOUBLE AS p, ${w}::DOUBLE AS w FROM ${q(duck)}`);
  for (const col of ['p4', 'p9', 'p18', 'p38']) {
    addCase(cases, `decimal_duckdb_${col}`, ['--label', 'y', '--prob', col], ['decimal/duckdb.parquet'], { expect: await fig(col) });
  }
  addCase(cases, 'decimal_duckdb_weight', ['--label', 'y', '--prob', 'p9', '--weight', 'w'], ['decimal/duckdb.parquet'],
    { expect: { ...(await fig('p9', 'w')), 'overall.weight': (await rows(`SELECT sum(w::DOUBLE) AS s FROM ${q(duck)}`))[0].s } });
  for (const col of ['p9', 'p38']) {
    addCase(cases, `decimal_polars_${col}`, ['--label', 'y', '--prob', col], ['decimal/polars.parquet'], { expect: await fig(col) });
    addCase(cases, `decimal_polars_arrow_${col}`, ['--label', 'y', '--prob', col], ['decimal/polars.arrow'], { expect: await fig(col) });
  }
  const [g] = await rows(`SELECT count(*)::BIGINT AS n,
      avg(0.5 * ln(2 * pi()) + ln(s::DOUBLE) + 0.5 * power((g::DOUBLE - m::DOUBLE) / s::DOUBLE, 2)) AS nll
    FROM ${q(duck)}`);
  addCase(cases, 'decimal_duckdb_gaussian', ['--kind', 'gaussian', '--label', 'g', '--mean', 'm', '--std', 's'], ['decimal/duckdb.parquet'],
    { expect: { 'overall.rows': Number(g.n), 'overall.nll': g.nll } });
}

// 3. String and categorical labels. Binary: "spam" is positive, "ham"
// negative. Multiclass: three named classes, the label a name, the
// prediction a list of 3 probabilities in the order of --classes.
const CLASSES = ['setosa', 'versicolor', 'virginica'];
const classList = `['${CLASSES.join("','")}']`;
const multiSQL = (n) => `
  SELECT ${classList}[y + 1] AS label, [e0 / s, e1 / s, e2 / s] AS probs
  FROM (SELECT *, e0 + e1 + e2 AS s FROM (
    SELECT floor(u01(i, 11) * 3)::INT AS y,
      exp((u01(i, 12) - 0.5) * 4 + CASE WHEN floor(u01(i, 11) * 3) = 0 THEN 1.5 ELSE 0 END) AS e0,
      exp((u01(i, 13) - 0.5) * 4 + CASE WHEN floor(u01(i, 11) * 3) = 1 THEN 1.0 ELSE 0 END) AS e1,
      exp((u01(i, 14) - 0.5) * 4 + CASE WHEN floor(u01(i, 11) * 3) = 2 THEN 0.5 ELSE 0 END) AS e2
    FROM range(${n}) t(i)))`;
// Multiclass figures from a query with label (a name), probs.
async function multiFigures(from) {
  const [r] = await rows(`
    WITH t AS (SELECT list_position(${classList}, label) AS k, probs FROM (${from}))
    SELECT count(*)::BIGINT AS n, avg(-ln(clip(probs[k]))) AS nll,
      avg(CASE WHEN list_position(probs, list_max(probs)) = k THEN 1.0 ELSE 0.0 END) AS accuracy,
      avg(list_sum(list_transform(range(1, 4), j -> power(probs[j] - CASE WHEN j = k THEN 1 ELSE 0 END, 2)))) AS brier
    FROM t`);
  return { 'overall.rows': Number(r.n), 'overall.nll': r.nll, 'overall.brier': r.brier, 'overall.accuracy': r.accuracy };
}
{
  const dir = path.join(OUT, 'strings');
  fs.mkdirSync(dir, { recursive: true });
  const duckBin = path.join(dir, 'duckdb_binary.parquet');
  await run(`COPY (SELECT CASE WHEN y = 1 THEN 'spam' ELSE 'ham' END AS label, p FROM (${binarySQL(400)})) TO ${q(duckBin)} (FORMAT parquet)`);
  const want = await binaryFigures(`SELECT (label = 'spam')::INT AS y, p, 1.0 AS w FROM ${q(duckBin)}`);
  const b = (await con.runAndReadAll(`SELECT * FROM ${q(duckBin)}`)).getColumnsObjectJS();
  const df = pl.DataFrame({ label: b.label, p: b.p });
  df.writeParquet(path.join(dir, 'polars_binary.parquet'));
  df.writeIPC(path.join(dir, 'polars_binary.arrow'));
  df.withColumn(pl.col('label').cast(pl.Categorical)).writeIPC(path.join(dir, 'polars_binary_categorical.arrow'));
  df.withColumn(pl.col('label').cast(pl.Categorical)).writeParquet(path.join(dir, 'polars_binary_categorical.parquet'));
  for (const f of ['duckdb_binary.parquet', 'polars_binary.parquet', 'polars_binary.arrow', 'polars_binary_categorical.arrow', 'polars_binary_categorical.parquet']) {
    addCase(cases, `strings_${f.replace('.', '_')}`, ['--label', 'label', '--prob', 'p', '--positive', 'spam'], [`strings/${f}`],
      { expect: { ...want, 'mapping.positive': 'spam' } });
  }
  addCase(cases, 'strings_binary_no_positive', ['--label', 'label', '--prob', 'p'], ['strings/duckdb_binary.parquet'],
    { exit: 2, stderr: 'holds strings (string): name the positive class with --positive VALUE' });

  const duckMc = path.join(dir, 'duckdb_multiclass.parquet');
  await run(`COPY (${multiSQL(300)}) TO ${q(duckMc)} (FORMAT parquet)`);
  const mwant = await multiFigures(`SELECT * FROM ${q(duckMc)}`);
  const m = (await con.runAndReadAll(`SELECT * FROM ${q(duckMc)}`)).getColumnsObjectJS();
  const mdf = pl.DataFrame({ label: m.label, probs: m.probs.map((l) => Array.from(l)) });
  mdf.withColumn(pl.col('label').cast(pl.Categorical)).writeParquet(path.join(dir, 'polars_multiclass_categorical.parquet'));
  mdf.writeIPC(path.join(dir, 'polars_multiclass.arrow'));
  for (const f of ['duckdb_multiclass.parquet', 'polars_multiclass_categorical.parquet', 'polars_multiclass.arrow']) {
    addCase(cases, `strings_${f.replace('.', '_')}`, ['--label', 'label', '--prob', 'probs', '--classes', CLASSES.join(',')], [`strings/${f}`],
      { expect: { ...mwant, 'mapping.classes': CLASSES }, md: ['| `setosa` (0) |', '| `virginica` (2) |'] });
  }
  addCase(cases, 'strings_multiclass_json_classes', ['--label', 'label', '--prob', 'probs', '--classes', JSON.stringify(CLASSES)], ['strings/duckdb_multiclass.parquet'],
    { expect: mwant });
  const [firstVirginica] = await rows(`SELECT i FROM (SELECT row_number() OVER () AS i, label FROM ${q(duckMc)}) WHERE label = 'virginica' ORDER BY i LIMIT 1`);
  addCase(cases, 'strings_multiclass_unknown_class', ['--label', 'label', '--prob', 'probs', '--classes', 'setosa,versicolor,virginia'], ['strings/duckdb_multiclass.parquet'],
    { exit: 2, stderr: `duckdb_multiclass.parquet:${firstVirginica.i}: column "label": label "virginica" is not one of the classes given by --classes` });
  addCase(cases, 'strings_multiclass_no_classes', ['--label', 'label', '--prob', 'probs'], ['strings/duckdb_multiclass.parquet'],
    { exit: 2, stderr: 'give the class names in the order of the prediction list with --classes' });
}

// 4. scikit-learn predict_proba pairs: [P(y=0), P(y=1)] per row with 0/1
// labels. --kind auto reads them as binary on P(y=1) (figures as
// scikit-learn's log_loss, brier_score_loss, accuracy_score);
// --kind multiclass keeps the 2-class reading.
{
  const dir = path.join(OUT, 'proba');
  fs.mkdirSync(dir, { recursive: true });
  const duck = path.join(dir, 'duckdb_pairs.parquet');
  await run(`COPY (SELECT y, [1.0 - p, p] AS probs FROM (${binarySQL(300)})) TO ${q(duck)} (FORMAT parquet)`);
  const want = await binaryFigures(`SELECT y, probs[2] AS p, 1.0 AS w FROM ${q(duck)}`);
  const r = (await con.runAndReadAll(`SELECT y, probs FROM ${q(duck)}`)).getColumnsObjectJS();
  const df = pl.DataFrame({ y: r.y, probs: r.probs.map((l) => Array.from(l)) });
  df.writeParquet(path.join(dir, 'polars_pairs.parquet'));
  df.withColumn(pl.col('probs').cast(pl.FixedSizeList(pl.Float64, 2))).writeIPC(path.join(dir, 'polars_pairs_fixed.arrow'));
  for (const f of ['duckdb_pairs.parquet', 'polars_pairs.parquet', 'polars_pairs_fixed.arrow']) {
    addCase(cases, `proba_auto_${f.replace('.', '_')}`, ['--label', 'y', '--prob', 'probs'], [`proba/${f}`],
      { expect: { ...want, kind: 'binary', 'mapping.prob_element': 1 } });
  }
  addCase(cases, 'proba_kind_binary', ['--kind', 'binary', '--label', 'y', '--prob', 'probs'], ['proba/duckdb_pairs.parquet'], { expect: want });
  const [mc] = await rows(`SELECT avg(-ln(clip(probs[y + 1]))) AS nll,
      avg(power(probs[1] - (y = 0)::INT, 2) + power(probs[2] - (y = 1)::INT, 2)) AS brier
    FROM ${q(duck)}`);
  addCase(cases, 'proba_kind_multiclass', ['--kind', 'multiclass', '--label', 'y', '--prob', 'probs'], ['proba/duckdb_pairs.parquet'],
    { expect: { kind: 'multiclass', 'overall.nll': mc.nll, 'overall.brier': mc.brier } });
  // A row of three probabilities among pairs.
  const bad = path.join(dir, 'duckdb_pairs_bad_length.parquet');
  await run(`COPY (SELECT y, CASE WHEN i = 7 THEN [0.2, 0.3, 0.5] ELSE [1.0 - p, p] END AS probs
    FROM (SELECT row_number() OVER () AS i, * FROM (${binarySQL(20)}))) TO ${q(bad)} (FORMAT parquet)`);
  addCase(cases, 'proba_bad_length', ['--label', 'y', '--prob', 'probs'], ['proba/duckdb_pairs_bad_length.parquet'],
    { exit: 2, stderr: 'duckdb_pairs_bad_length.parquet:7: column "probs": list has 3 elements, the rest of the input has 2' });
}

// 5. CSV and JSON Lines: DuckDB's COPY ... (FORMAT csv) and
// (FORMAT json: one object per line), Polars' writeCSV and writeJSON
// (lines), binary and multiclass (lists: JSON arrays; in CSV as DuckDB
// writes them, "[0.1, 0.9]"). Names that say nothing of the format: the
// content decides. A directory of them is read too.
{
  const dir = path.join(OUT, 'text');
  fs.mkdirSync(path.join(dir, 'dir'), { recursive: true });
  const bin = `SELECT y, p, CASE WHEN y = 1 THEN 'spam' ELSE 'ham' END AS label FROM (${binarySQL(700)})`;
  await run(`COPY (${bin}) TO ${q(path.join(dir, 'duckdb_binary.csv'))} (FORMAT csv, HEADER)`);
  await run(`COPY (${bin}) TO ${q(path.join(dir, 'duckdb_binary.jsonl'))} (FORMAT json)`);
  await run(`COPY (${bin}) TO ${q(path.join(dir, 'duckdb_binary.txt'))} (FORMAT csv, HEADER, DELIMITER '\t')`);
  const want = await binaryFigures(`SELECT y, p, 1.0 AS w FROM ${q(path.join(dir, 'duckdb_binary.csv'))}`);
  const b = (await con.runAndReadAll(`SELECT * FROM read_csv(${q(path.join(dir, 'duckdb_binary.csv'))})`)).getColumnsObjectJS();
  const df = pl.DataFrame({ y: b.y, p: b.p, label: b.label });
  df.writeCSV(path.join(dir, 'polars_binary.csv'));
  df.writeJSON(path.join(dir, 'polars_binary.ndjson'), { format: 'lines' });
  // Split across a directory, with names of both formats.
  await run(`COPY (SELECT * FROM (${bin}) LIMIT 300) TO ${q(path.join(dir, 'dir', 'a.csv'))} (FORMAT csv, HEADER)`);
  await run(`COPY (SELECT * FROM (${bin}) OFFSET 300) TO ${q(path.join(dir, 'dir', 'b.jsonl'))} (FORMAT json)`);
  for (const f of ['duckdb_binary.csv', 'duckdb_binary.jsonl', 'duckdb_binary.txt', 'polars_binary.csv', 'polars_binary.ndjson']) {
    addCase(cases, `text_${f.replace('.', '_')}`, ['--label', 'y', '--prob', 'p'], [`text/${f}`], { expect: want });
  }
  addCase(cases, 'text_csv_string_label', ['--label', 'label', '--prob', 'p', '--positive', 'spam'], ['text/polars_binary.csv'], { expect: want });
  addCase(cases, 'text_directory', ['--label', 'y', '--prob', 'p'], ['text/dir'], { expect: { ...want, 'inputs.0.format': 'csv', 'inputs.1.format': 'jsonl' } });

  const mc = `SELECT list_position(${classList}, label) - 1 AS y, probs FROM (${multiSQL(200)})`;
  await run(`COPY (${mc}) TO ${q(path.join(dir, 'duckdb_multiclass.csv'))} (FORMAT csv, HEADER)`);
  await run(`COPY (${mc}) TO ${q(path.join(dir, 'duckdb_multiclass.jsonl'))} (FORMAT json)`);
  const mwant = await multiFigures(`SELECT ${classList}[y + 1] AS label, probs FROM (${mc})`);
  for (const f of ['duckdb_multiclass.csv', 'duckdb_multiclass.jsonl']) {
    addCase(cases, `text_${f.replace('.', '_')}`, ['--label', 'y', '--prob', 'probs'], [`text/${f}`], { expect: mwant });
  }
  // Errors name the line: a float where the first 1000 rows had integers,
  // a string where numbers were.
  const lines = ['y,p'];
  for (let i = 0; i < 1200; i++) lines.push(`${i % 2},${i % 2 ? 0.7 : 0.2}`);
  lines[1102] = '1,oops';
  fs.writeFileSync(path.join(dir, 'bad_value.csv'), lines.join('\n') + '\n');
  addCase(cases, 'text_csv_bad_value', ['--label', 'y', '--prob', 'p'], ['text/bad_value.csv'],
    { exit: 2, stderr: 'bad_value.csv: line 1103: column "p": "oops" is not double' });
  const jl = [];
  for (let i = 0; i < 1200; i++) jl.push(JSON.stringify({ y: i % 2, p: i % 2 ? 0.7 : 0.2 }));
  jl[1099] = '{"y": 1, "p": "high"}';
  fs.writeFileSync(path.join(dir, 'bad_value.jsonl'), jl.join('\n') + '\n');
  addCase(cases, 'text_jsonl_bad_value', ['--label', 'y', '--prob', 'p'], ['text/bad_value.jsonl'],
    { exit: 2, stderr: 'bad_value.jsonl: line 1100: column "p": "high" is not double' });
}

// 6. Hive-partitioned folders: DuckDB's PARTITION_BY (country=BR/year=2024/
// data_0.parquet) and, as Polars' partitioned writes lay them out, one
// file per partition under country=XX/. The partition keys are columns:
// --by country,year and slice gates. country is a string, year an int.
{
  const dir = path.join(OUT, 'hive');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const src = `SELECT y, p, ['BR', 'DE', 'US'][1 + (i % 3)] AS country, 2023 + (i % 2) AS year
    FROM (SELECT row_number() OVER () - 1 AS i, * FROM (${binarySQL(600)}))`;
  await run(`COPY (${src}) TO ${q(path.join(dir, 'duckdb'))} (FORMAT parquet, PARTITION_BY (country, year))`);
  const r = (await con.runAndReadAll(src)).getColumnsObjectJS();
  const df = pl.DataFrame({ y: r.y, p: r.p, country: r.country });
  for (const part of df.partitionBy('country', true, true)) {
    const c = part.getColumn('country').get(0);
    fs.mkdirSync(path.join(dir, 'polars', `country=${c}`), { recursive: true });
    part.drop('country').writeParquet(path.join(dir, 'polars', `country=${c}`, '00000000.parquet'));
  }
  const slice = async (where) => binaryFigures(`SELECT y, p, 1.0 AS w FROM (${src}) WHERE ${where}`);
  const expect = { ...(await binaryFigures(`SELECT y, p, 1.0 AS w FROM (${src})`)) };
  const pexpect = { ...expect };
  for (const c of ['BR', 'DE', 'US']) {
    for (const yr of [2023, 2024]) {
      const f = await slice(`country = '${c}' AND year = ${yr}`);
      expect[`slices[country=${c},year=${yr}].nll`] = f['overall.nll'];
      expect[`slices[country=${c},year=${yr}].rows`] = f['overall.rows'];
    }
    const f = await slice(`country = '${c}'`);
    pexpect[`slices[country=${c}].nll`] = f['overall.nll'];
    pexpect[`slices[country=${c}].rows`] = f['overall.rows'];
  }
  addCase(cases, 'hive_duckdb', ['--label', 'y', '--prob', 'p', '--by', 'country,year'], ['hive/duckdb'], { expect });
  addCase(cases, 'hive_polars', ['--label', 'y', '--prob', 'p', '--by', 'country'], ['hive/polars'], { expect: pexpect });
  const br = await slice(`country = 'BR' AND year = 2024`);
  addCase(cases, 'hive_gate', ['--label', 'y', '--prob', 'p', '--by', 'country,year', '--fail-if', `slice[country=BR,year=2024].nll > ${br['overall.nll'] / 2}`],
    ['hive/duckdb'], { exit: 1, stderr: 'slice[country=BR,year=2024].nll' });
}

fs.writeFileSync(path.join(OUT, 'cases.json'), JSON.stringify(cases, null, 1) + '\n');
if (BIG) {
  const big = [];
  await lz4Files(BIG, [20000, 100000], big);
  fs.writeFileSync(path.join(BIG, 'cases.json'), JSON.stringify(big, null, 1) + '\n');
}
console.error(`wrote ${cases.length} cases to ${OUT}`);
