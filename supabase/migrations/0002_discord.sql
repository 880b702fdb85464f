-- Discord webhook channels, the delivery outbox, and the rate-limit state every sender shares.

-- ---------------------------------------------------------------------------------------------
-- Channels: one Discord webhook each. The token is a credential: the API never returns it and
-- `authenticated` may write it but not read it back (column grants below), so a browser holding
-- a user's JWT cannot read it through PostgREST either.
-- ---------------------------------------------------------------------------------------------
create table if not exists public.discord_channels (
    id                  uuid primary key default gen_random_uuid(),
    user_id             uuid not null default auth.uid(),
    name                text not null check (char_length(btrim(name)) between 1 and 100),
    webhook_id          text not null check (webhook_id ~ '^[0-9]{17,20}$'),
    webhook_token       text not null check (webhook_token ~ '^[A-Za-z0-9_-]{1,100}$'),
    guild_id            text,
    discord_channel_id  text,
    is_active           boolean not null default true,
    is_global_default   boolean not null default false,
    default_for         text[] not null default '{}'
        check (default_for <@ array['load', 'enter', 'update', 'exit', 'signal']::text[]),
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    last_ok_at          timestamptz,
    last_error          text,
    constraint discord_channels_name_per_user unique (user_id, name)
);

-- At most one global default per user, whatever the application does.
create unique index if not exists discord_channels_one_global_default
    on public.discord_channels (user_id) where is_global_default;
create index if not exists discord_channels_webhook on public.discord_channels (webhook_id);

alter table public.discord_channels enable row level security;

drop policy if exists discord_channels_select_own on public.discord_channels;
create policy discord_channels_select_own on public.discord_channels
    for select to authenticated using (auth.uid() = user_id);
drop policy if exists discord_channels_insert_own on public.discord_channels;
create policy discord_channels_insert_own on public.discord_channels
    for insert to authenticated with check (auth.uid() = user_id);
drop policy if exists discord_channels_update_own on public.discord_channels;
create policy discord_channels_update_own on public.discord_channels
    for update to authenticated using (auth.uid() = user_id) with check (auth.uid() = user_id);
drop policy if exists discord_channels_delete_own on public.discord_channels;
create policy discord_channels_delete_own on public.discord_channels
    for delete to authenticated using (auth.uid() = user_id);

revoke all on public.discord_channels from anon;
revoke all on public.discord_channels from authenticated;
grant select (id, user_id, name, webhook_id, guild_id, discord_channel_id, is_active, is_global_default,
              default_for, created_at, updated_at, last_ok_at, last_error)
    on public.discord_channels to authenticated;
grant insert, update, delete on public.discord_channels to authenticated;
grant all on public.discord_channels to service_role;

-- ---------------------------------------------------------------------------------------------
-- The outbox: one row per message x channel, written in the transaction of whatever caused it.
-- pending  waiting for its turn (next_attempt_at), or released by a sender to wait for a limit
-- sending  claimed by one sender until claimed_until (a crashed sender's claim simply expires)
-- sent     Discord accepted it (discord_message_id)
-- failed   the last attempt failed; retried at next_attempt_at
-- dead     will not be retried (expired, refused by Discord, channel gone); retry re-queues it
-- ---------------------------------------------------------------------------------------------
create table if not exists public.alert_deliveries (
    id                  uuid primary key default gen_random_uuid(),
    user_id             uuid not null default auth.uid(),
    -- The FK to alerts(id) is added by the trades migration (0003).
    alert_id            uuid,
    channel_id          uuid references public.discord_channels (id) on delete set null,
    -- The channel's name when the delivery was written, shown after the channel is deleted.
    channel_name        text not null default '',
    payload             jsonb not null check (jsonb_typeof(payload) = 'object'),
    status              text not null default 'pending'
        check (status in ('pending', 'sending', 'sent', 'failed', 'dead')),
    attempts            integer not null default 0 check (attempts >= 0),
    next_attempt_at     timestamptz not null default now(),
    claimed_until       timestamptz,
    give_up_at          timestamptz not null default now() + interval '24 hours',
    discord_message_id  text,
    last_status         integer,
    last_error          text,
    -- Set when a send timed out after Discord may already have posted it (the one duplicate case).
    maybe_duplicated    boolean not null default false,
    -- Creation order per channel; messages to one channel go out in this order.
    seq                 bigint generated always as identity,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    sent_at             timestamptz
);

create index if not exists alert_deliveries_channel_open
    on public.alert_deliveries (channel_id, seq) where status in ('pending', 'sending', 'failed');
create index if not exists alert_deliveries_due
    on public.alert_deliveries (next_attempt_at) where status in ('pending', 'failed');
create index if not exists alert_deliveries_alert on public.alert_deliveries (alert_id);
create index if not exists alert_deliveries_user on public.alert_deliveries (user_id, created_at);

alter table public.alert_deliveries enable row level security;

drop policy if exists alert_deliveries_select_own on public.alert_deliveries;
create policy alert_deliveries_select_own on public.alert_deliveries
    for select to authenticated using (auth.uid() = user_id);
-- A delivery may only target one of the user's own channels: the engine posts as service_role.
drop policy if exists alert_deliveries_insert_own on public.alert_deliveries;
create policy alert_deliveries_insert_own on public.alert_deliveries
    for insert to authenticated with check (
        auth.uid() = user_id
        and channel_id is not null
        and exists (select 1 from public.discord_channels c where c.id = channel_id and c.user_id = auth.uid())
    );
drop policy if exists alert_deliveries_update_own on public.alert_deliveries;
create policy alert_deliveries_update_own on public.alert_deliveries
    for update to authenticated using (auth.uid() = user_id) with check (
        auth.uid() = user_id
        and (channel_id is null
             or exists (select 1 from public.discord_channels c where c.id = channel_id and c.user_id = auth.uid()))
    );
drop policy if exists alert_deliveries_delete_own on public.alert_deliveries;
create policy alert_deliveries_delete_own on public.alert_deliveries
    for delete to authenticated using (auth.uid() = user_id);

revoke all on public.alert_deliveries from anon;
grant select, insert, update, delete on public.alert_deliveries to authenticated;
grant all on public.alert_deliveries to service_role;

-- ---------------------------------------------------------------------------------------------
-- Rate-limit state, shared by every sender (Lambdas, the local worker): one row per key
-- ('webhook:<id>', 'channel:<discord channel id>', 'global'), updated under a row lock.
-- A webhook may be used by several users, so these rows belong to no user: RLS is on with no
-- policy for authenticated, and only service_role may touch them.
-- ---------------------------------------------------------------------------------------------
create table if not exists public.discord_rate_limits (
    key                 text primary key,
    -- Start times (epoch seconds) of the most recent sends, newest last.
    recent_sends        double precision[] not null default '{}',
    -- What Discord's headers last said.
    header_limit        integer,
    header_window_s     double precision,
    bucket              text,
    -- No send may start before this (epoch seconds): a 429's retry_after, or a bucket at 0.
    blocked_until       double precision not null default 0,
    updated_at          timestamptz not null default now()
);

alter table public.discord_rate_limits enable row level security;
revoke all on public.discord_rate_limits from anon;
revoke all on public.discord_rate_limits from authenticated;
grant all on public.discord_rate_limits to service_role;
