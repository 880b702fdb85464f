-- Issue 22: our tables leave `public` for a schema of our own, and every row-level security policy
-- requires an admin.
--
-- * Schema `honeydrip`: Supabase's Data API (PostgREST) exposes `public` to every signed-in user;
--   it never exposes a schema that is not listed in its settings, so nothing here is reachable
--   through it. `ALTER TABLE … SET SCHEMA` moves each table with its rows, indexes, constraints,
--   triggers, policies, grants and identity sequences; nothing is copied.
-- * Who is an admin (docs/admins.md): a token whose `app_metadata.role` is in
--   `honeydrip.admin_roles` (seeded with 'admin', the default of the functions' ADMIN_ROLES).
--   `honeydrip.is_admin()` reads the claims the request transaction carries; every policy for
--   `authenticated` requires it, so a member's token reaching Postgres by any path reads and writes
--   nothing. The service role (jobs, delivery) bypasses row-level security as before.

create schema if not exists honeydrip;
revoke all on schema honeydrip from public;
grant usage on schema honeydrip to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- The tables, with their data.
-- ---------------------------------------------------------------------------------------------
alter table public.profiles set schema honeydrip;
alter table public.watchlist set schema honeydrip;
alter table public.discord_channels set schema honeydrip;
alter table public.alert_deliveries set schema honeydrip;
alter table public.discord_rate_limits set schema honeydrip;
alter table public.trades set schema honeydrip;
alter table public.trade_updates set schema honeydrip;
alter table public.trade_channels set schema honeydrip;
alter table public.alerts set schema honeydrip;
alter table public.idempotency_keys set schema honeydrip;
alter table public.trade_fills set schema honeydrip;
alter table public.job_heartbeats set schema honeydrip;
alter table public.historical_bars set schema honeydrip;
alter table public.ingestion_queue set schema honeydrip;
alter table public.indicator_state set schema honeydrip;
alter table public.gamma_snapshots set schema honeydrip;
alter table public.signal_settings set schema honeydrip;
alter table public.composite_signals set schema honeydrip;
alter table public.signal_cooldowns set schema honeydrip;

-- The ledger's trigger function, rewritten to name the table where it now lives (its trigger
-- refers to it by identity and follows it).
alter function public.trade_fills_never_oversold() set schema honeydrip;
create or replace function honeydrip.trade_fills_never_oversold() returns trigger
    language plpgsql
    set search_path = ''
as $$
begin
    if (
        select coalesce(sum(case f.side when 'buy' then f.contracts else -f.contracts end), 0)
        from honeydrip.trade_fills f where f.trade_id = new.trade_id
    ) < 0 then
        raise exception 'trade % would sell more contracts than it bought', new.trade_id
            using errcode = 'check_violation', constraint = 'trade_fills_never_oversold';
    end if;
    return new;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Who is an admin.
-- ---------------------------------------------------------------------------------------------
create table if not exists honeydrip.admin_roles (
    role        text primary key check (role ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    created_at  timestamptz not null default now()
);
insert into honeydrip.admin_roles (role) values ('admin') on conflict (role) do nothing;
alter table honeydrip.admin_roles enable row level security;

-- Security definer: it reads admin_roles, which `authenticated` may not. It reads nothing but that
-- table and the transaction's own claims.
create or replace function honeydrip.is_admin() returns boolean
    language sql stable security definer
    set search_path = ''
as $$
    select exists (
        select 1 from honeydrip.admin_roles r
        where r.role = (auth.jwt() -> 'app_metadata' ->> 'role')
    )
$$;

-- ---------------------------------------------------------------------------------------------
-- Grants: `authenticated` (the functions' request transactions) and `service_role` (jobs) only.
-- ---------------------------------------------------------------------------------------------
revoke all on all tables in schema honeydrip from public, anon;
revoke all on all sequences in schema honeydrip from public, anon, authenticated;
revoke all on all functions in schema honeydrip from public, anon;
revoke all on honeydrip.admin_roles from authenticated;
grant all on all tables in schema honeydrip to service_role;
grant usage, select on all sequences in schema honeydrip to service_role;
grant execute on function honeydrip.is_admin() to authenticated, service_role;
-- Trigger functions run as part of the statement that fires them; no one calls them directly.
revoke all on function honeydrip.trade_fills_never_oversold() from authenticated;

alter default privileges in schema honeydrip revoke all on tables from public, anon;
alter default privileges in schema honeydrip revoke all on sequences from public, anon;
alter default privileges in schema honeydrip revoke execute on functions from public, anon;

-- ---------------------------------------------------------------------------------------------
-- Every policy again, each requiring an admin. `(select honeydrip.is_admin())` is evaluated once
-- per statement, not once per row.
-- ---------------------------------------------------------------------------------------------
drop policy if exists profiles_own on honeydrip.profiles;
create policy profiles_own on honeydrip.profiles
    for all to authenticated
    using ((select honeydrip.is_admin()) and auth.uid() = user_id)
    with check ((select honeydrip.is_admin()) and auth.uid() = user_id);

drop policy if exists watchlist_own on honeydrip.watchlist;
create policy watchlist_own on honeydrip.watchlist
    for all to authenticated
    using ((select honeydrip.is_admin()) and auth.uid() = user_id)
    with check ((select honeydrip.is_admin()) and auth.uid() = user_id);

drop policy if exists discord_channels_select_own on honeydrip.discord_channels;
create policy discord_channels_select_own on honeydrip.discord_channels
    for select to authenticated using ((select honeydrip.is_admin()) and auth.uid() = user_id);
drop policy if exists discord_channels_insert_own on honeydrip.discord_channels;
create policy discord_channels_insert_own on honeydrip.discord_channels
    for insert to authenticated with check ((select honeydrip.is_admin()) and auth.uid() = user_id);
drop policy if exists discord_channels_update_own on honeydrip.discord_channels;
create policy discord_channels_update_own on honeydrip.discord_channels
    for update to authenticated
    using ((select honeydrip.is_admin()) and auth.uid() = user_id)
    with check ((select honeydrip.is_admin()) and auth.uid() = user_id);
drop policy if exists discord_channels_delete_own on honeydrip.discord_channels;
create policy discord_channels_delete_own on honeydrip.discord_channels
    for delete to authenticated using ((select honeydrip.is_admin()) and auth.uid() = user_id);

drop policy if exists alert_deliveries_select_own on honeydrip.alert_deliveries;
create policy alert_deliveries_select_own on honeydrip.alert_deliveries
    for select to authenticated using ((select honeydrip.is_admin()) and auth.uid() = user_id);
drop policy if exists alert_deliveries_insert_own on honeydrip.alert_deliveries;
create policy alert_deliveries_insert_own on honeydrip.alert_deliveries
    for insert to authenticated with check (
        (select honeydrip.is_admin())
        and auth.uid() = user_id
        and channel_id is not null
        and exists (select 1 from honeydrip.discord_channels c where c.id = channel_id and c.user_id = auth.uid())
        and (alert_id is null
             or exists (select 1 from honeydrip.alerts a where a.id = alert_id and a.user_id = auth.uid()))
    );
drop policy if exists alert_deliveries_update_own on honeydrip.alert_deliveries;
create policy alert_deliveries_update_own on honeydrip.alert_deliveries
    for update to authenticated
    using ((select honeydrip.is_admin()) and auth.uid() = user_id)
    with check (
        (select honeydrip.is_admin())
        and auth.uid() = user_id
        and (channel_id is null
             or exists (select 1 from honeydrip.discord_channels c where c.id = channel_id and c.user_id = auth.uid()))
        and (alert_id is null
             or exists (select 1 from honeydrip.alerts a where a.id = alert_id and a.user_id = auth.uid()))
    );
drop policy if exists alert_deliveries_delete_own on honeydrip.alert_deliveries;
create policy alert_deliveries_delete_own on honeydrip.alert_deliveries
    for delete to authenticated using ((select honeydrip.is_admin()) and auth.uid() = user_id);

drop policy if exists trades_own on honeydrip.trades;
create policy trades_own on honeydrip.trades
    for all to authenticated
    using ((select honeydrip.is_admin()) and auth.uid() = user_id)
    with check ((select honeydrip.is_admin()) and auth.uid() = user_id);

drop policy if exists trade_updates_own on honeydrip.trade_updates;
create policy trade_updates_own on honeydrip.trade_updates
    for all to authenticated
    using ((select honeydrip.is_admin()) and auth.uid() = user_id)
    with check ((select honeydrip.is_admin()) and auth.uid() = user_id);

drop policy if exists trade_channels_own on honeydrip.trade_channels;
create policy trade_channels_own on honeydrip.trade_channels
    for all to authenticated
    using ((select honeydrip.is_admin()) and auth.uid() = user_id)
    with check (
        (select honeydrip.is_admin())
        and auth.uid() = user_id
        and exists (select 1 from honeydrip.discord_channels c where c.id = channel_id and c.user_id = auth.uid())
    );

drop policy if exists alerts_own on honeydrip.alerts;
create policy alerts_own on honeydrip.alerts
    for all to authenticated
    using ((select honeydrip.is_admin()) and auth.uid() = user_id)
    with check (
        (select honeydrip.is_admin())
        and auth.uid() = user_id
        and (trade_update_id is null
             or exists (select 1 from honeydrip.trade_updates u where u.id = trade_update_id and u.user_id = auth.uid()))
    );

drop policy if exists idempotency_keys_own on honeydrip.idempotency_keys;
create policy idempotency_keys_own on honeydrip.idempotency_keys
    for all to authenticated
    using ((select honeydrip.is_admin()) and auth.uid() = user_id)
    with check ((select honeydrip.is_admin()) and auth.uid() = user_id);

drop policy if exists trade_fills_own on honeydrip.trade_fills;
create policy trade_fills_own on honeydrip.trade_fills
    for all to authenticated
    using ((select honeydrip.is_admin()) and auth.uid() = user_id)
    with check (
        (select honeydrip.is_admin())
        and auth.uid() = user_id
        and (trade_update_id is null
             or exists (select 1 from honeydrip.trade_updates u where u.id = trade_update_id and u.user_id = auth.uid()))
    );

-- Market data is the same for every admin, and only for admins.
drop policy if exists historical_bars_read on honeydrip.historical_bars;
create policy historical_bars_read on honeydrip.historical_bars
    for select to authenticated using ((select honeydrip.is_admin()));

drop policy if exists gamma_snapshots_read on honeydrip.gamma_snapshots;
create policy gamma_snapshots_read on honeydrip.gamma_snapshots
    for select to authenticated using ((select honeydrip.is_admin()));

drop policy if exists signal_settings_read on honeydrip.signal_settings;
create policy signal_settings_read on honeydrip.signal_settings
    for select to authenticated using ((select honeydrip.is_admin()));

drop policy if exists composite_signals_select_own on honeydrip.composite_signals;
create policy composite_signals_select_own on honeydrip.composite_signals
    for select to authenticated using ((select honeydrip.is_admin()) and auth.uid() = user_id);
drop policy if exists composite_signals_update_own on honeydrip.composite_signals;
create policy composite_signals_update_own on honeydrip.composite_signals
    for update to authenticated
    using ((select honeydrip.is_admin()) and auth.uid() = user_id)
    with check ((select honeydrip.is_admin()) and auth.uid() = user_id);
