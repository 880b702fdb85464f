-- Scheduled jobs: their heartbeats, the historical bars they ingest, the backfill queue, and the
-- indicators' warm-up state the weekend pre-warm stores. Jobs write as service_role; users may
-- only read the bars (the web client's charts).

-- ---------------------------------------------------------------------------------------------
-- One row per job run, written at its end (ok, skipped because another run held the lock or the
-- market was closed, or failed with the error). /api/health reads the latest per job.
-- ---------------------------------------------------------------------------------------------
create table if not exists public.job_heartbeats (
    id           bigint generated always as identity primary key,
    job          text not null check (job ~ '^[a-z][a-z0-9_]{0,62}$'),
    started_at   timestamptz not null,
    finished_at  timestamptz not null,
    status       text not null check (status in ('ok', 'skipped', 'failed')),
    counts       jsonb not null default '{}' check (jsonb_typeof(counts) = 'object'),
    duration_ms  integer not null check (duration_ms >= 0),
    error        text
);
create index if not exists job_heartbeats_latest on public.job_heartbeats (job, started_at desc);

-- ---------------------------------------------------------------------------------------------
-- Bars as Massive's aggregates give them; 15m and 1h are Massive's own, never regrouped from 1m.
-- ---------------------------------------------------------------------------------------------
create table if not exists public.historical_bars (
    symbol     text not null check (symbol ~ '^(I:)?[A-Z][A-Z.]{0,9}$'),
    timeframe  text not null check (timeframe in ('1m', '5m', '15m', '1h', '1d')),
    ts         timestamptz not null,
    o          double precision not null,
    h          double precision not null,
    l          double precision not null,
    c          double precision not null,
    v          double precision not null default 0,
    vw         double precision,
    n          bigint,
    primary key (symbol, timeframe, ts)
);

-- ---------------------------------------------------------------------------------------------
-- Backfill queue: one row per symbol first seen on a watchlist.
-- queued      waiting for the next ingest run
-- processing  claimed by a run (claimed_at); a claim older than 30 minutes is reclaimed
-- done        backfilled; incremental runs keep it current
-- failed      three attempts failed; last_error says why (shown by /api/health)
-- ---------------------------------------------------------------------------------------------
create table if not exists public.ingestion_queue (
    symbol       text primary key check (symbol ~ '^(I:)?[A-Z][A-Z.]{0,9}$'),
    status       text not null default 'queued' check (status in ('queued', 'processing', 'done', 'failed')),
    attempts     integer not null default 0 check (attempts >= 0),
    last_error   text,
    queued_at    timestamptz not null default now(),
    claimed_at   timestamptz,
    finished_at  timestamptz,
    updated_at   timestamptz not null default now()
);
create index if not exists ingestion_queue_open on public.ingestion_queue (queued_at) where status in ('queued', 'processing');

-- ---------------------------------------------------------------------------------------------
-- The indicators' warm-up state per symbol and timeframe, so the first scan of a week starts warm.
-- ---------------------------------------------------------------------------------------------
create table if not exists public.indicator_state (
    symbol       text not null check (symbol ~ '^(I:)?[A-Z][A-Z.]{0,9}$'),
    timeframe    text not null check (timeframe in ('1m', '5m', '15m', '1h', '1d')),
    as_of        timestamptz not null,
    state        jsonb not null check (jsonb_typeof(state) = 'object'),
    computed_at  timestamptz not null default now(),
    primary key (symbol, timeframe)
);

alter table public.job_heartbeats enable row level security;
alter table public.historical_bars enable row level security;
alter table public.ingestion_queue enable row level security;
alter table public.indicator_state enable row level security;

revoke all on public.job_heartbeats, public.historical_bars, public.ingestion_queue, public.indicator_state
    from anon, authenticated;
grant select on public.historical_bars to authenticated;
grant all on public.job_heartbeats, public.historical_bars, public.ingestion_queue, public.indicator_state
    to service_role;

-- Market data is the same for every admin: any signed-in user reads every bar, and no one but
-- the service role writes (no insert/update/delete grant or policy for authenticated).
drop policy if exists historical_bars_read on public.historical_bars;
create policy historical_bars_read on public.historical_bars
    for select to authenticated using (true);
