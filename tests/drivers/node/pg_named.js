// node-postgres through the pooler with named queries ({ name, text, values }): prepared once per connection,
// reused on whichever server runs the next transaction. Same workload and checks as the Python scripts.
const { Client } = require('pg');

const CLIENTS = Number(process.env.CLIENTS ?? 50);
const TXNS = Number(process.env.TXNS ?? 200);

async function client(n) {
  const c = new Client({ connectionString: process.env.TUKI_DSN });
  await c.connect();
  try {
    for (let i = 0; i < TXNS; i++) {
      await c.query('BEGIN');
      const r = await c.query({ name: 'sel', text: 'SELECT $1::int + 1 AS a, $2::text AS b', values: [i, `c${n}`] });
      if (r.rows[0].a !== i + 1 || r.rows[0].b !== `c${n}`) throw new Error(`client ${n} tx ${i}: got ${JSON.stringify(r.rows)}`);
      const u = await c.query({ name: 'upd', text: 'UPDATE counters SET n = n + 1 WHERE client = $1 RETURNING n', values: [n] });
      if (u.rows[0].n !== i + 1) throw new Error(`client ${n} tx ${i}: counter ${u.rows[0].n}`);
      await c.query('COMMIT');
    }
  } finally {
    await c.end();
  }
}

const timer = setTimeout(() => { console.error('timed out'); process.exit(2); }, 300_000);
Promise.allSettled(Array.from({ length: CLIENTS }, (_, n) => client(n))).then(results => {
  clearTimeout(timer);
  const errors = results.filter(r => r.status === 'rejected').map(r => String(r.reason));
  if (errors.length) { console.error(errors.slice(0, 10).join('\n')); process.exit(1); }
  console.log(`ok pg ${require('fs').readFileSync(require('path').join(__dirname, 'node_modules/pg/package.json'), 'utf8').match(/"version": "([^"]+)/)[1]}: ${CLIENTS * TXNS} transactions`);
});
