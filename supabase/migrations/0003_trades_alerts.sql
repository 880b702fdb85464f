-- Trades, their updates, the channels they post to, the alerts sent for them, and idempotency keys.
-- The lifecycle itself lives in shared/trades/lifecycle.py; the database refuses what can never be
-- right whatever the application does: impossible prices, states, trims and contract symbols.

-- ---------------------------------------------------------------------------------------------
-- Trades. `contract` is the OCC symbol and must spell out underlying, expiry, side and strike;
-- `underlying` is the option root (SPXW for SPX weeklies), `ticker` what admins call it (SPX).
-- ---------------------------------------------------------------------------------------------
create table if not exists public.trades (
    id                  uuid primary key default gen_random_uuid(),
    user_id             uuid not null default auth.uid(),
    ticker              text not null check (ticker ~ '^[A-Z][A-Z.]{0,9}$'),
    contract            text not null,
    underlying          text not null check (underlying ~ '^[A-Z]{1,6}$'),
    strike              numeric(12, 3) not null check (strike > 0 and strike < 100000),
    expiry              date not null,
    side                text not null check (side in ('call', 'put')),
    trade_type          text not null check (trade_type in ('Scalp', 'Day', 'Swing', 'LEAP')),
    state               text not null check (state in ('loaded', 'entered', 'exited')),
    quantity            integer not null default 1 check (quantity >= 1),
    entry_price         numeric(12, 4) check (entry_price > 0),
    current_price       numeric(12, 4) check (current_price > 0),
    target_price        numeric(12, 4) check (target_price > 0),
    stop_loss           numeric(12, 4) check (stop_loss > 0),
    -- An option that expired worthless exits at $0.
    exit_price          numeric(12, 4) check (exit_price >= 0),
    target_underlying   numeric(14, 4) check (target_underlying > 0),
    stop_underlying     numeric(14, 4) check (stop_underlying > 0),
    stop_mode           text not null default 'fixed' check (stop_mode in ('fixed', 'trailing')),
    trimmed_percent     numeric(5, 2) not null default 0 check (trimmed_percent between 0 and 100),
    realized_percent    numeric(12, 2) not null default 0,
    setup_type          text check (char_length(setup_type) between 1 and 100),
    notes               text check (char_length(notes) <= 2000),
    confluence          jsonb check (confluence is null or jsonb_typeof(confluence) = 'object'),
    greeks              jsonb check (greeks is null or jsonb_typeof(greeks) = 'object'),
    -- Bumped by every change; clients send it back as If-Match to act on what they saw.
    version             integer not null default 0,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    loaded_at           timestamptz,
    entered_at          timestamptz,
    exited_at           timestamptz,
    constraint trades_contract_spells_the_option check (
        contract = 'O:' || underlying || to_char(expiry, 'YYMMDD')
            || case side when 'call' then 'C' else 'P' end
            || lpad((strike * 1000)::bigint::text, 8, '0')
    ),
    -- The root is the ticker itself (BRK.B → BRKB) or its weekly/PM-settled root (SPX → SPXW, NDX → NDXP).
    constraint trades_underlying_of_ticker check (
        underlying in (replace(ticker, '.', ''), ticker || 'W', ticker || 'P')
    ),
    constraint trades_entered_has_entry check (
        state = 'loaded' or (entry_price is not null and entered_at is not null)
    ),
    constraint trades_exit_only_when_exited check (exit_price is null or state = 'exited'),
    constraint trades_exited_has_exit check (
        state <> 'exited' or (exit_price is not null and exited_at is not null and entry_price is not null)
    ),
    constraint trades_id_user unique (id, user_id)
);

create index if not exists trades_user_newest on public.trades (user_id, created_at desc, id desc);
create index if not exists trades_user_state_newest on public.trades (user_id, state, created_at desc, id desc);

-- ---------------------------------------------------------------------------------------------
-- Trade updates: one row per action, in the action's transaction. The composite foreign key
-- makes an update for someone else's trade impossible even for a caller who knows its id.
-- ---------------------------------------------------------------------------------------------
create table if not exists public.trade_updates (
    id              uuid primary key default gen_random_uuid(),
    trade_id        uuid not null,
    user_id         uuid not null default auth.uid(),
    type            text not null check (type in (
                        'load', 'enter', 'trim', 'add', 'update_sl', 'trail_stop', 'update', 'exit', 'share_exit')),
    price           numeric(12, 4) check (price >= 0),
    message         text check (char_length(message) <= 4096),
    pnl_percent     numeric(12, 2),
    trim_percent    numeric(5, 2) check (trim_percent > 0 and trim_percent <= 100),
    quantity        integer check (quantity >= 1),
    created_at      timestamptz not null default now(),
    -- Writing order: updates of one instant still list in the order they happened.
    seq             bigint generated always as identity,
    constraint trade_updates_trim_has_percent check ((type = 'trim') = (trim_percent is not null)),
    constraint trade_updates_trade foreign key (trade_id, user_id)
        references public.trades (id, user_id) on delete cascade
);

create index if not exists trade_updates_trade on public.trade_updates (trade_id, seq);

-- The trims of one trade never add up to more than the whole position.
create or replace function public.trade_updates_trim_total() returns trigger
    language plpgsql
    set search_path = ''
as $$
begin
    if new.trim_percent is not null and (
        select coalesce(sum(u.trim_percent), 0) from public.trade_updates u where u.trade_id = new.trade_id
    ) > 100 then
        raise exception 'the trims of trade % add up to more than 100%%', new.trade_id
            using errcode = 'check_violation', constraint = 'trade_updates_trim_total';
    end if;
    return new;
end
$$;

drop trigger if exists trade_updates_trim_total on public.trade_updates;
create trigger trade_updates_trim_total
    after insert or update of trim_percent, trade_id on public.trade_updates
    for each row execute function public.trade_updates_trim_total();

-- ---------------------------------------------------------------------------------------------
-- The channels a trade posts to by default.
-- ---------------------------------------------------------------------------------------------
create table if not exists public.trade_channels (
    trade_id    uuid not null,
    channel_id  uuid not null references public.discord_channels (id) on delete cascade,
    user_id     uuid not null default auth.uid(),
    created_at  timestamptz not null default now(),
    primary key (trade_id, channel_id),
    constraint trade_channels_trade foreign key (trade_id, user_id)
        references public.trades (id, user_id) on delete cascade
);

create index if not exists trade_channels_channel on public.trade_channels (channel_id);

-- ---------------------------------------------------------------------------------------------
-- Alerts: the payload exactly as it was sent, with the preset and toggles that produced it.
-- ---------------------------------------------------------------------------------------------
create table if not exists public.alerts (
    id                  uuid primary key default gen_random_uuid(),
    user_id             uuid not null default auth.uid(),
    trade_id            uuid not null,
    trade_update_id     uuid references public.trade_updates (id) on delete set null,
    action              text not null check (action in (
                            'load', 'enter', 'trim', 'add', 'update_sl', 'trail_stop', 'update', 'exit', 'share_exit')),
    payload             jsonb not null check (jsonb_typeof(payload) = 'object'),
    preset              text check (preset in ('full', 'minimal', 'scalp')),
    fields              jsonb not null default '{}' check (jsonb_typeof(fields) = 'object'),
    channel_ids         uuid[] not null default '{}',
    created_at          timestamptz not null default now(),
    seq                 bigint generated always as identity,
    constraint alerts_trade foreign key (trade_id, user_id)
        references public.trades (id, user_id) on delete cascade
);

create index if not exists alerts_trade on public.alerts (trade_id, seq);

do $$
begin
    if not exists (select 1 from pg_constraint where conname = 'alert_deliveries_alert_fk') then
        alter table public.alert_deliveries
            add constraint alert_deliveries_alert_fk foreign key (alert_id)
            references public.alerts (id) on delete set null;
    end if;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Idempotency keys: the first answer to (user, Idempotency-Key), written in the action's own
-- transaction, so a retried request gets that answer instead of acting twice. Keys older than a
-- day may be reused.
-- ---------------------------------------------------------------------------------------------
create table if not exists public.idempotency_keys (
    user_id         uuid not null default auth.uid(),
    key             text not null check (char_length(key) between 1 and 255),
    request_hash    text not null,
    status          integer check (status between 100 and 599),
    response        jsonb,
    created_at      timestamptz not null default now(),
    primary key (user_id, key)
);

create index if not exists idempotency_keys_created on public.idempotency_keys (created_at);

-- ---------------------------------------------------------------------------------------------
-- Row-level security: each user sees and changes only their own rows; anon nothing.
-- ---------------------------------------------------------------------------------------------
alter table public.trades enable row level security;
alter table public.trade_updates enable row level security;
alter table public.trade_channels enable row level security;
alter table public.alerts enable row level security;
alter table public.idempotency_keys enable row level security;

revoke all on public.trades, public.trade_updates, public.trade_channels, public.alerts,
    public.idempotency_keys from anon;
grant select, insert, update, delete on public.trades, public.trade_updates, public.trade_channels,
    public.alerts, public.idempotency_keys to authenticated;
grant all on public.trades, public.trade_updates, public.trade_channels, public.alerts,
    public.idempotency_keys to service_role;
revoke all on function public.trade_updates_trim_total() from anon;

drop policy if exists trades_own on public.trades;
create policy trades_own on public.trades
    for all to authenticated
    using (auth.uid() = user_id)
    with check (auth.uid() = user_id);

drop policy if exists trade_updates_own on public.trade_updates;
create policy trade_updates_own on public.trade_updates
    for all to authenticated
    using (auth.uid() = user_id)
    with check (auth.uid() = user_id);

drop policy if exists trade_channels_own on public.trade_channels;
create policy trade_channels_own on public.trade_channels
    for all to authenticated
    using (auth.uid() = user_id)
    with check (
        auth.uid() = user_id
        and exists (select 1 from public.discord_channels c where c.id = channel_id and c.user_id = auth.uid())
    );

drop policy if exists alerts_own on public.alerts;
create policy alerts_own on public.alerts
    for all to authenticated
    using (auth.uid() = user_id)
    with check (auth.uid() = user_id);

drop policy if exists idempotency_keys_own on public.idempotency_keys;
create policy idempotency_keys_own on public.idempotency_keys
    for all to authenticated
    using (auth.uid() = user_id)
    with check (auth.uid() = user_id);
