// postgres.js through the pooler with prepare: true (named statements, its default), one connection per client.
// Same workload and checks as the Python scripts.
const postgres = require('postgres');

const CLIENTS = Number(process.env.CLIENTS ?? 50);
const TXNS = Number(process.env.TXNS ?? 200);

async function client(n) {
  const sql = postgres(process.env.TUKI_DSN, { max: 1, prepare: true, idle_timeout: 0, connect_timeout: 30 });
  try {
    for (let i = 0; i < TXNS; i++) {
      await sql.begin(async tx => {
        const [r] = await tx`SELECT ${i}::int + 1 AS a, ${'c' + n}::text AS b`;
        if (r.a !== i + 1 || r.b !== `c${n}`) throw new Error(`client ${n} tx ${i}: got ${JSON.stringify(r)}`);
        const [u] = await tx`UPDATE counters SET n = n + 1 WHERE client = ${n} RETURNING n`;
        if (u.n !== i + 1) throw new Error(`client ${n} tx ${i}: counter ${u.n}`);
      });
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

const timer = setTimeout(() => { console.error('timed out'); process.exit(2); }, 300_000);
Promise.allSettled(Array.from({ length: CLIENTS }, (_, n) => client(n))).then(results => {
  clearTimeout(timer);
  const errors = results.filter(r => r.status === 'rejected').map(r => String(r.reason));
  if (errors.length) { console.error(errors.slice(0, 10).join('\n')); process.exit(1); }
  console.log(`ok postgres.js ${require('fs').readFileSync(require('path').join(__dirname, 'node_modules/postgres/package.json'), 'utf8').match(/"version": "([^"]+)/)[1]}: ${CLIENTS * TXNS} transactions`);
});
