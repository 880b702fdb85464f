-- Issue 22: trading challenges. An admin runs a challenge (a starting and a target balance between
-- two dates), links trades to it (a trade may be in several), and its figures come from the fills
-- ledger of those trades (shared/challenges/figures.py). Only the owner sees or changes a challenge
-- or its links, and only while an admin (honeydrip.is_admin(), migration 0011).

create table if not exists honeydrip.challenges (
    id                  uuid primary key default gen_random_uuid(),
    user_id             uuid not null default auth.uid(),
    name                text not null check (char_length(btrim(name)) between 1 and 100),
    -- Dollars. The target is above the start: a challenge is to grow an account.
    starting_balance    numeric(14, 2) not null check (starting_balance > 0 and starting_balance < 1e12),
    target_balance      numeric(14, 2) not null check (target_balance < 1e12),
    start_date          date not null,
    end_date            date,
    status              text not null default 'active' check (status in ('active', 'archived')),
    -- Alerts of a linked trade also go here (while the challenge is active and the channel too).
    default_channel_id  uuid references honeydrip.discord_channels (id) on delete set null,
    -- Who the challenge is run for: the admin alone, or announced to the community.
    scope               text not null default 'admin' check (scope in ('admin', 'community')),
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    archived_at         timestamptz,
    constraint challenges_target_above_start check (target_balance > starting_balance),
    constraint challenges_dates_in_order check (end_date is null or end_date >= start_date),
    constraint challenges_archived_at check ((status = 'archived') = (archived_at is not null)),
    constraint challenges_id_user unique (id, user_id)
);
create index if not exists challenges_user_newest on honeydrip.challenges (user_id, created_at desc, id desc);

-- A trade in a challenge. The composite keys make a link between two users' rows impossible.
create table if not exists honeydrip.challenge_trades (
    challenge_id  uuid not null,
    trade_id      uuid not null,
    user_id       uuid not null default auth.uid(),
    created_at    timestamptz not null default now(),
    primary key (challenge_id, trade_id),
    constraint challenge_trades_challenge foreign key (challenge_id, user_id)
        references honeydrip.challenges (id, user_id) on delete cascade,
    constraint challenge_trades_trade foreign key (trade_id, user_id)
        references honeydrip.trades (id, user_id) on delete cascade
);
create index if not exists challenge_trades_trade on honeydrip.challenge_trades (trade_id);

-- ---------------------------------------------------------------------------------------------
-- The stop a trade was entered with: the risk its R multiple is measured against. Set by the
-- database when the trade is first entered and never changed after, whatever writes the row; a
-- trade entered before this migration takes its stop as stored now (the best the data knows).
-- ---------------------------------------------------------------------------------------------
alter table honeydrip.trades add column if not exists entry_stop numeric(12, 4) check (entry_stop > 0);

create or replace function honeydrip.trades_entry_stop() returns trigger
    language plpgsql
    set search_path = ''
as $$
begin
    if tg_op = 'INSERT' then
        new.entry_stop := case when new.state = 'loaded' then null else new.stop_loss end;
    elsif old.state = 'loaded' and new.state <> 'loaded' then
        new.entry_stop := new.stop_loss;
    else
        new.entry_stop := old.entry_stop;
    end if;
    return new;
end
$$;

drop trigger if exists trades_entry_stop on honeydrip.trades;
create trigger trades_entry_stop
    before insert or update on honeydrip.trades
    for each row execute function honeydrip.trades_entry_stop();

-- The trigger keeps entry_stop as it was on update: the trades entered so far get it with it off.
alter table honeydrip.trades disable trigger trades_entry_stop;
update honeydrip.trades set entry_stop = stop_loss where state <> 'loaded' and entry_stop is null;
alter table honeydrip.trades enable trigger trades_entry_stop;

-- ---------------------------------------------------------------------------------------------
-- Row-level security and grants.
-- ---------------------------------------------------------------------------------------------
alter table honeydrip.challenges enable row level security;
alter table honeydrip.challenge_trades enable row level security;

revoke all on honeydrip.challenges, honeydrip.challenge_trades from public, anon;
grant select, insert, update, delete on honeydrip.challenges, honeydrip.challenge_trades to authenticated;
grant all on honeydrip.challenges, honeydrip.challenge_trades to service_role;
revoke all on function honeydrip.trades_entry_stop() from public, anon, authenticated;

drop policy if exists challenges_own on honeydrip.challenges;
create policy challenges_own on honeydrip.challenges
    for all to authenticated
    using ((select honeydrip.is_admin()) and auth.uid() = user_id)
    with check (
        (select honeydrip.is_admin())
        and auth.uid() = user_id
        and (default_channel_id is null
             or exists (select 1 from honeydrip.discord_channels c
                        where c.id = default_channel_id and c.user_id = auth.uid()))
    );

drop policy if exists challenge_trades_own on honeydrip.challenge_trades;
create policy challenge_trades_own on honeydrip.challenge_trades
    for all to authenticated
    using ((select honeydrip.is_admin()) and auth.uid() = user_id)
    with check ((select honeydrip.is_admin()) and auth.uid() = user_id);
