// Seeded fuzzing of what an operator hands the router before it runs: the config file (through
// loadConfig, the function `wampmesh serve --config` uses, then what serve does with the result)
// and the command line (parseCommandLine and the admin subcommands' parseAdmin). Valid files
// (the README's example, the full file of config.test.ts, a mesh node, `{}`) are mutated at the
// value level (wrong types, missing and unknown fields, huge strings, odd unicode, deep nesting,
// "__proto__"/"constructor" keys, negative/huge/fractional numbers, duplicates) and at the text
// level (numbers JSON.parse rounds or overflows, escapes, truncation). The promises:
//
//   - a file is accepted, or refused with a ConfigError whose every line reads
//     "FILE: FIELD: problem", naming a field at or next to what was changed (the whole file only
//     when the file as a whole is wrong); never another exception;
//   - an accepted file goes through what serve does next without an exception: the command-line
//     flags applied (applyServeFlags), the router built from its realms and limits, the WebSocket
//     decision; and a sample of accepted files starts the whole server in-process (listeners on
//     loopback port 0), which either runs or fails with a StartError, and stops;
//   - a command line is parsed, or refused with a UsageError that names the option, command or
//     argument at fault; never another exception;
//   - the real `wampmesh` process, on a sample of refused files and command lines, exits 1 or 2
//     with one line on stderr and no stack trace.
//
// Seeds are fixed, so runs are reproducible; a failure names the seed, the case and the input.
// FUZZ_EXTRA_SEEDS=n runs more of them, for a longer hunt on a developer's machine.

import test from 'ava';
import { parseCommandLine } from '../../src/cli/args.ts';
import { Rng } from '../helpers/fuzz-input.ts';
import { EXTRA_SEEDS, show } from '../helpers/fuzz-checks.ts';
import { mutateArgv, SERVE_ARGV, SERVE_OPTIONS } from './config-fuzz-argv.ts';
import { ConfigFuzz, STACK_LINE, unusableDataDirs } from './config-fuzz-harness.ts';
import { runCli } from './run-cli.ts';

const SEEDS = [0xc0f1_0001, 0xc0f1_0002, 0xc0f1_0003, 0xc0f1_0004];
const seeds = [...SEEDS, ...Array.from({ length: EXTRA_SEEDS }, (_, i) => 0xc0f1_1000 + i)];
const FILES_PER_SEED = 600;
const STARTS_PER_SEED = 6;
const ARGV_PER_SEED = 400;

for (const seed of seeds) {
  test(`config fuzz, seed 0x${seed.toString(16)}: mutated files and command lines are accepted or refused naming the field, never a crash`, async (t) => {
    const started = performance.now();
    const fuzz = new ConfigFuzz(seed);
    try {
      for (let i = 0; i < FILES_PER_SEED; i++) fuzz.file(i);
      for (let i = 0; i < STARTS_PER_SEED; i++) await fuzz.start(i);
      for (let i = 0; i < ARGV_PER_SEED; i++) fuzz.argv(i);
    } finally {
      fuzz.dispose();
    }
    t.log(
      `seed 0x${seed.toString(16)}: ${show(fuzz.stats)} in ${Math.round(performance.now() - started)} ms; start errors: ${show(fuzz.startErrors, 600)}`,
    );
    t.pass();
  });
}

// The real process, on a sample: a refused file or command line is one line on stderr, no stack.
test('config fuzz, the wampmesh process: refused files and command lines exit 1 or 2 with one line and no stack', async (t) => {
  const fuzz = new ConfigFuzz(SEEDS[0]!);
  const cases: { argv: string[]; code: number }[] = [];
  try {
    for (let i = 0; i < 200 && fuzz.refusedFiles.length < 3; i++) fuzz.file(i);
    for (const file of fuzz.refusedFiles.slice(0, 3)) cases.push({ argv: ['serve', '--config', file], code: 1 });
    const rng = new Rng(SEEDS[0]! + 1);
    for (let n = 0; cases.length < 6 && n < 100; n++) {
      const argv = mutateArgv(rng, rng.pick(SERVE_ARGV), SERVE_OPTIONS);
      try {
        parseCommandLine(argv);
      } catch {
        cases.push({ argv, code: 2 });
      }
    }
    // A data folder that cannot be used, for serve and for an admin command.
    for (const data of unusableDataDirs(fuzz.dir).slice(0, 2)) {
      cases.push({ argv: ['serve', '--data', data, '--ws', '127.0.0.1:0'], code: 1 });
      cases.push({ argv: ['realm', 'list', '--data', data], code: 1 });
    }
    cases.push({ argv: ['realm', 'list', '--data', unusableDataDirs(fuzz.dir)[3]!], code: 1 });
    const results = await Promise.all(cases.map((c) => runCli(c.argv)));
    results.forEach((r, i) => {
      const c = cases[i]!;
      const lines = r.stderr.trimEnd().split('\n');
      t.is(r.code, c.code, `${show(c.argv)}: exit ${r.code}, stderr ${r.stderr}`);
      t.false(STACK_LINE.test(r.stderr), `${show(c.argv)}: a stack on stderr: ${r.stderr}`);
      t.true(lines[0]!.startsWith('wampmesh: '), `${show(c.argv)}: ${r.stderr}`);
      // A refused file: one line per problem; a command line: the problem, then "Try 'wampmesh --help'";
      // an unusable data folder: one line.
      if (c.code === 2) t.is(lines.at(-1), "Try 'wampmesh --help'.", r.stderr);
      else if (c.argv[1] === '--config')
        t.true(
          lines.every((l, k) => l.startsWith(`${k === 0 ? 'wampmesh: ' : ''}${c.argv[2]}: `)),
          r.stderr,
        );
      else t.is(lines.length, 1, r.stderr);
    });
  } finally {
    fuzz.dispose();
  }
});
