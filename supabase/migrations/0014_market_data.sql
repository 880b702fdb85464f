-- Market data for the web client (issue 21): one Massive call serves many admins, and no admin
-- spends the plan's budget for everyone.
--
-- market_cache: Massive's answers, shaped, for a second or a minute. Unlogged: a cache is not worth
--   a WAL write, and losing it in a crash costs one upstream call per key. A miss is filled under a
--   transaction-scoped advisory lock on its key, so concurrent misses across Lambda containers wait
--   for the first fetch instead of repeating it (works behind a transaction pooler). Refusals
--   (429, 403, 404, timeouts) are kept too, briefly, so a burst never repeats a failing call.
-- market_fair_use: requests per admin per minute on the market routes.
-- Only the functions' service role touches either (the data is the same for every admin; the
-- routes check the admin's token first). RLS is on with no policy: `authenticated` reads nothing.

create unlogged table if not exists honeydrip.market_cache (
    key         text primary key check (length(key) between 1 and 200),
    kind        text not null check (kind in ('ok', 'error')),
    body        jsonb not null,
    fetched_at  timestamptz not null default clock_timestamp(),
    expires_at  timestamptz not null
);
create index if not exists market_cache_expires on honeydrip.market_cache (expires_at);

create unlogged table if not exists honeydrip.market_fair_use (
    user_id   uuid not null,
    minute    timestamptz not null,
    requests  integer not null default 1 check (requests >= 0),
    primary key (user_id, minute)
);

alter table honeydrip.market_cache enable row level security;
alter table honeydrip.market_fair_use enable row level security;

revoke all on honeydrip.market_cache, honeydrip.market_fair_use from public, anon, authenticated;
grant all on honeydrip.market_cache, honeydrip.market_fair_use to service_role;
