-- The composite signal scanner: its thresholds per asset class, the signals it fires per admin,
-- and the cooldown that keeps one setup from alerting again every minute. The scanner writes as
-- service_role; an admin reads their own signals and may only dismiss them.

-- ---------------------------------------------------------------------------------------------
-- One row per asset class: the only place the scanner's thresholds live.
-- ---------------------------------------------------------------------------------------------
create table if not exists public.signal_settings (
    asset_class       text primary key check (asset_class in ('index', 'etf', 'stock')),
    min_score         numeric not null check (min_score between 0 and 100),
    min_rr            numeric not null check (min_rr > 0),
    cooldown_minutes  integer not null check (cooldown_minutes between 0 and 1440),
    expires_minutes   integer not null check (expires_minutes between 1 and 10080),
    updated_at        timestamptz not null default now()
);

insert into public.signal_settings (asset_class, min_score, min_rr, cooldown_minutes, expires_minutes) values
    ('index', 60, 1.5, 15, 60),
    ('etf',   60, 1.5, 15, 60),
    ('stock', 65, 1.5, 30, 60)
on conflict (asset_class) do nothing;

-- ---------------------------------------------------------------------------------------------
-- Signals: bar_time is the start of the bar that triggered it, never the time of the scan, so a
-- retried or concurrent scan of the same bar hits the unique key instead of firing again.
-- active     fired, not yet past expires_at
-- expired    past expires_at (the scanner marks them)
-- dismissed  the admin dismissed it
-- ---------------------------------------------------------------------------------------------
create table if not exists public.composite_signals (
    id          uuid primary key default gen_random_uuid(),
    user_id     uuid not null,
    symbol      text not null check (symbol ~ '^(I:)?[A-Z][A-Z.]{0,9}$'),
    detector    text not null check (detector ~ '^[a-z][a-z0-9_]{0,62}$'),
    direction   text not null check (direction in ('long', 'short')),
    style       text not null check (style in ('scalp', 'day', 'swing')),
    score       numeric not null check (score between 0 and 100),
    factors     jsonb not null check (jsonb_typeof(factors) = 'array'),
    entry       numeric not null check (entry > 0),
    stop        numeric not null,
    targets     numeric[] not null check (cardinality(targets) between 1 and 5),
    rr          numeric not null check (rr >= 0),
    bar_time    timestamptz not null,
    status      text not null default 'active' check (status in ('active', 'expired', 'dismissed')),
    created_at  timestamptz not null default now(),
    expires_at  timestamptz not null,
    alerted_at  timestamptz,
    constraint composite_signals_once unique (user_id, symbol, detector, direction, bar_time)
);
create index if not exists composite_signals_user_recent on public.composite_signals (user_id, bar_time desc);
create index if not exists composite_signals_active on public.composite_signals (expires_at) where status = 'active';

-- ---------------------------------------------------------------------------------------------
-- The cooldown per admin, symbol and detector: `until` is bar_time + the asset class's cooldown of
-- the last signal; a signal whose bar is before `until` is not fired. Updated in the same
-- statement that inserts the signal, so two scans racing for one setup fire it once.
-- ---------------------------------------------------------------------------------------------
create table if not exists public.signal_cooldowns (
    user_id        uuid not null,
    symbol         text not null,
    detector       text not null,
    last_bar_time  timestamptz not null,
    until          timestamptz not null,
    primary key (user_id, symbol, detector)
);

alter table public.signal_settings enable row level security;
alter table public.composite_signals enable row level security;
alter table public.signal_cooldowns enable row level security;

revoke all on public.signal_settings, public.composite_signals, public.signal_cooldowns from anon, authenticated;
grant select on public.signal_settings to authenticated;
grant select on public.composite_signals to authenticated;
-- Dismissing is the only change an admin makes: status alone, on their own rows.
grant update (status) on public.composite_signals to authenticated;
grant all on public.signal_settings, public.composite_signals, public.signal_cooldowns to service_role;

drop policy if exists signal_settings_read on public.signal_settings;
create policy signal_settings_read on public.signal_settings for select to authenticated using (true);

drop policy if exists composite_signals_select_own on public.composite_signals;
create policy composite_signals_select_own on public.composite_signals
    for select to authenticated using (auth.uid() = user_id);
drop policy if exists composite_signals_update_own on public.composite_signals;
create policy composite_signals_update_own on public.composite_signals
    for update to authenticated using (auth.uid() = user_id) with check (auth.uid() = user_id);
