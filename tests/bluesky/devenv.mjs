// Bluesky's reference implementation on loopback ports, for the end-to-end tests.
//
// Starts a PLC directory, an AppView and a PDS from @atproto/dev-env (the parts of its
// TestNetwork the bot talks to; Ozone is left out), prints one JSON line with their URLs on
// stdout when they answer, and stops on SIGTERM or SIGINT, dropping its PostgreSQL schema.
//
// Environment:
//   SOCIALBRIDGE_ATPROTO_DIR  folder holding node_modules/@atproto/dev-env
//                             (default ~/.cache/socialbridge/atproto)
//   DB_POSTGRES_URL           PostgreSQL for the AppView (default
//                             postgresql://postgres@127.0.0.1:5432/socialbridge_devenv;
//                             the database is created if missing)
//   DB_POSTGRES_SCHEMA        schema name prefix (default: a fresh one per run)
//   LOG_ENABLED=true          the services' own logs, on stderr
import { createRequire } from 'node:module'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import crypto from 'node:crypto'

// The services call listen(port) with no host, i.e. every interface; keep them on loopback.
const listen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1')
  return listen.apply(this, args)
}

const started = Date.now()
const atprotoDir =
  process.env.SOCIALBRIDGE_ATPROTO_DIR ||
  path.join(os.homedir(), '.cache', 'socialbridge', 'atproto')
const require = createRequire(path.join(atprotoDir, 'package.json'))

let devEnv, pg
try {
  devEnv = require('@atproto/dev-env')
  pg = require('pg')
} catch (err) {
  console.error(`@atproto/dev-env is not installed in ${atprotoDir}: ${err.message}`)
  process.exit(3)
}
const getPort = require('get-port')

const postgresUrl =
  process.env.DB_POSTGRES_URL || 'postgresql://postgres@127.0.0.1:5432/socialbridge_devenv'
// Letters and underscores only: the AppView refuses anything else in a schema name.
const schema = process.env.DB_POSTGRES_SCHEMA || `socialbridge_${randomLetters(10)}`
// TestBsky puts the AppView's tables in a schema of this name.
const appviewSchema = `appview_${schema}`

function randomLetters(n) {
  return Array.from(crypto.randomBytes(n), (byte) => String.fromCharCode(97 + (byte % 26))).join('')
}

async function ensureDatabase() {
  const url = new URL(postgresUrl)
  const name = decodeURIComponent(url.pathname.slice(1))
  const admin = new URL(postgresUrl)
  admin.pathname = '/postgres'
  const client = new pg.Client({ connectionString: admin.toString() })
  await client.connect()
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`)
    }
  } catch (err) {
    if (err.code !== '42P04') throw err // created meanwhile by a parallel run
  } finally {
    await client.end()
  }
}

async function dropSchema() {
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${appviewSchema}" CASCADE`)
  } finally {
    await client.end()
  }
}

let plc, bsky, pds
let stopping = false

async function stop(code) {
  if (stopping) return
  stopping = true
  for (const service of [bsky, pds, plc]) {
    try {
      await service?.close()
    } catch (err) {
      console.error(`closing a service failed: ${err.message}`)
    }
  }
  try {
    await dropSchema()
  } catch (err) {
    console.error(`dropping schema ${appviewSchema} failed: ${err.message}`)
  }
  process.exit(code)
}

process.on('SIGTERM', () => stop(0))
process.on('SIGINT', () => stop(0))
// The test runner closes our stdin when it goes away, even after kill -9: stop then too.
process.stdin.on('end', () => stop(0))
process.stdin.resume()

async function start() {
  await ensureDatabase()
  plc = await devEnv.TestPlc.create({})
  const pdsPort = await getPort()
  bsky = await devEnv.TestBsky.create({
    port: await getPort(),
    plcUrl: plc.url,
    pdsPort,
    repoProvider: `ws://localhost:${pdsPort}`,
    dbPostgresUrl: postgresUrl,
    dbPostgresSchema: appviewSchema,
  })
  pds = await devEnv.TestPds.create({
    port: pdsPort,
    didPlcUrl: plc.url,
    bskyAppViewUrl: bsky.url,
    bskyAppViewDid: bsky.ctx.cfg.serverDid,
  })
  // As TestNetwork does: identities on this PDS resolve to its local URL, handles in .test.
  devEnv.mockNetworkUtilities(pds, bsky)
  const ready = {
    pds: `http://127.0.0.1:${pds.port}`,
    appview: `http://127.0.0.1:${bsky.port}`,
    plc: `http://127.0.0.1:${plc.port}`,
    appview_did: bsky.ctx.cfg.serverDid,
    schema: appviewSchema,
    seconds: (Date.now() - started) / 1000,
  }
  process.stdout.write(JSON.stringify(ready) + '\n')
}

start().catch((err) => {
  console.error(`the dev-env did not start: ${err.stack || err}`)
  stop(1)
})
