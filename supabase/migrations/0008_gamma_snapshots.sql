-- Gamma exposure snapshots (issue 12): one row per symbol, view and GAMMA_INTERVAL bucket, written
-- by the `gamma` job as service_role. A retried run in the same bucket overwrites its rows (the
-- primary key), so a Lambda retry never duplicates a snapshot. Every signed-in admin reads them.

create table if not exists public.gamma_snapshots (
    symbol                           text not null check (symbol ~ '^(I:)?[A-Z][A-Z.]{0,9}$'),
    view                             text not null check (view in ('all', 'nearest', '30d')),
    -- taken_at floored to the job's interval: the key a retried run overwrites.
    bucket                           timestamptz not null,
    taken_at                         timestamptz not null,
    spot                             double precision not null check (spot > 0),
    -- Dollars of delta per 1 % move; calls positive, puts negative (not enforced here: a chain with a
    -- negative gamma from Massive is still stored as it computes, not refused).
    net_gex                          double precision not null,
    call_gex                         double precision not null,
    put_gex                          double precision not null,
    call_wall                        double precision,
    put_wall                         double precision,
    zero_gamma                       double precision,
    max_pain                         double precision,
    contracts                        integer not null check (contracts >= 0),
    contracts_without_greeks         integer not null check (contracts_without_greeks >= 0),
    contracts_without_open_interest  integer not null check (contracts_without_open_interest >= 0),
    -- Massive's gamma over the Black-Scholes gamma from each contract's IV (about 1: per $1 move),
    -- and what the job multiplied Massive's gammas by (100 when they arrived per $0.01).
    gamma_unit_ratio                 double precision,
    gamma_scale                      double precision not null default 1 check (gamma_scale > 0),
    -- Per strike, ascending, as parallel arrays: {"strike": [...], "call_gex": [...], ...}.
    strikes                          jsonb not null check (jsonb_typeof(strikes) = 'object'),
    primary key (symbol, view, bucket)
);
create index if not exists gamma_snapshots_latest on public.gamma_snapshots (symbol, view, taken_at desc);

alter table public.gamma_snapshots enable row level security;

revoke all on public.gamma_snapshots from anon, authenticated;
grant select on public.gamma_snapshots to authenticated;
grant all on public.gamma_snapshots to service_role;

-- Market data is the same for every admin: any signed-in user reads every snapshot, and no one but
-- the service role writes (no insert/update/delete grant or policy for authenticated).
drop policy if exists gamma_snapshots_read on public.gamma_snapshots;
create policy gamma_snapshots_read on public.gamma_snapshots
    for select to authenticated using (true);
