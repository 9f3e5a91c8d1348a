// Prints the plain closing line CI reads ("N passed, N failed, N skipped") from vitest's JSON
// report, and fails the run when no test ran or when any test was skipped: under CI every
// test must run (the tests that need servers of their own start them; nothing may be
// skipped quietly).
import { readFileSync } from 'node:fs';
const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
if (report.numTotalTests === 0) {
  console.error('ci: no test ran');
  process.exit(1);
}
if (skipped > 0) {
  const names = report.testResults
    .flatMap((file) =>
      file.assertionResults
        .filter((test) => test.status === 'pending' || test.status === 'skipped' || test.status === 'todo')
        .map((test) => `${file.name}: ${test.fullName}`),
    )
    .slice(0, 10);
  console.error(`ci: ${skipped} test(s) were skipped, and under CI every test must run:\n  ${names.join('\n  ')}`);
  process.exit(1);
}
