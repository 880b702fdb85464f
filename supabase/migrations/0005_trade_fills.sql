-- The fills ledger: every buy and sell of a trade, from which its P&L is computed (average cost).
-- Enter and add buy, trim and exit sell; each row is written in its action's transaction. Trades
-- written before the ledger are turned into fills here, from their update rows.

create table if not exists public.trade_fills (
    id                  uuid primary key default gen_random_uuid(),
    trade_id            uuid not null,
    user_id             uuid not null default auth.uid(),
    trade_update_id     uuid references public.trade_updates (id) on delete cascade,
    side                text not null check (side in ('buy', 'sell')),
    -- numeric, not integer: a one-contract trade trims in halves.
    contracts           numeric not null check (contracts > 0 and contracts < 10000000),
    price               numeric(12, 4) not null check (price >= 0),
    -- Dollars in cents, unbounded: 100,000 contracts of a $99,999,999 premium must still be recordable.
    fee                 numeric not null check (fee >= 0),
    slippage            numeric not null check (slippage >= 0),
    at                  timestamptz not null default now(),
    -- Writing order: the ledger folds in the order the fills happened.
    seq                 bigint generated always as identity,
    constraint trade_fills_trade foreign key (trade_id, user_id)
        references public.trades (id, user_id) on delete cascade
);

create index if not exists trade_fills_trade on public.trade_fills (trade_id, seq);

-- A trade never sells more contracts than it bought, whatever writes the rows.
create or replace function public.trade_fills_never_oversold() returns trigger
    language plpgsql
    set search_path = ''
as $$
begin
    if (
        select coalesce(sum(case f.side when 'buy' then f.contracts else -f.contracts end), 0)
        from public.trade_fills f where f.trade_id = new.trade_id
    ) < 0 then
        raise exception 'trade % would sell more contracts than it bought', new.trade_id
            using errcode = 'check_violation', constraint = 'trade_fills_never_oversold';
    end if;
    return new;
end
$$;

drop trigger if exists trade_fills_never_oversold on public.trade_fills;
create trigger trade_fills_never_oversold
    after insert or update of side, contracts, trade_id on public.trade_fills
    for each row execute function public.trade_fills_never_oversold();

alter table public.trade_fills enable row level security;
revoke all on public.trade_fills from anon;
grant select, insert, update on public.trade_fills to authenticated;
grant all on public.trade_fills to service_role;
revoke all on function public.trade_fills_never_oversold() from anon;

drop policy if exists trade_fills_own on public.trade_fills;
create policy trade_fills_own on public.trade_fills
    for all to authenticated
    using (auth.uid() = user_id)
    with check (auth.uid() = user_id);

-- ---------------------------------------------------------------------------------------------
-- Trades written before the ledger. Their trims were percentages of the position bought so far;
-- their adds re-averaged the entry. Each becomes fills priced by the same rules as new ones:
-- $0.65 a contract (at least $0.50) and 0.5 % of the price as slippage, rounded half-up to the cent.
-- ---------------------------------------------------------------------------------------------
do $$
declare
    t record;
    u record;
    bought numeric;
    open_contracts numeric;
    size numeric;
    first_buy numeric;
    first_price numeric;
begin
    for t in
        select tr.* from public.trades tr
        where tr.state in ('entered', 'exited')
            and not exists (select 1 from public.trade_fills f where f.trade_id = tr.id)
    loop
        bought := 0;
        open_contracts := 0;
        first_buy := null;
        first_price := null;
        for u in
            select * from public.trade_updates where trade_id = t.id order by seq
        loop
            size := null;
            if u.type = 'enter' and bought = 0 then
                size := coalesce(u.quantity, t.quantity);
                first_buy := size;
                first_price := coalesce(u.price, t.entry_price);
                bought := bought + size;
                open_contracts := open_contracts + size;
                insert into public.trade_fills (trade_id, user_id, trade_update_id, side, contracts, price, fee, slippage, at)
                values (t.id, t.user_id, u.id, 'buy', size, first_price,
                        round(greatest(0.65 * size, 0.50), 2), round(first_price * 0.005 * size * 100, 2), u.created_at);
            elsif u.type = 'add' and bought > 0 and u.quantity is not null and u.price > 0 then
                size := u.quantity;
                bought := bought + size;
                open_contracts := open_contracts + size;
                insert into public.trade_fills (trade_id, user_id, trade_update_id, side, contracts, price, fee, slippage, at)
                values (t.id, t.user_id, u.id, 'buy', size, u.price,
                        round(greatest(0.65 * size, 0.50), 2), round(u.price * 0.005 * size * 100, 2), u.created_at);
            elsif u.type = 'trim' and open_contracts > 0 and u.price is not null then
                size := least(open_contracts, bought * u.trim_percent / 100);
                if size > 0 then
                    open_contracts := open_contracts - size;
                    insert into public.trade_fills (trade_id, user_id, trade_update_id, side, contracts, price, fee, slippage, at)
                    values (t.id, t.user_id, u.id, 'sell', size, u.price,
                            round(greatest(0.65 * size, 0.50), 2), round(u.price * 0.005 * size * 100, 2), u.created_at);
                end if;
            elsif u.type = 'exit' and open_contracts > 0 then
                size := open_contracts;
                open_contracts := 0;
                insert into public.trade_fills (trade_id, user_id, trade_update_id, side, contracts, price, fee, slippage, at)
                values (t.id, t.user_id, u.id, 'sell', size, coalesce(u.price, t.exit_price),
                        round(greatest(0.65 * size, 0.50), 2),
                        round(coalesce(u.price, t.exit_price) * 0.005 * size * 100, 2), u.created_at);
            end if;
        end loop;
        if bought = 0 then
            -- An entered trade without its enter row: its stored entry is the one fill we know.
            insert into public.trade_fills (trade_id, user_id, side, contracts, price, fee, slippage, at)
            values (t.id, t.user_id, 'buy', t.quantity, t.entry_price,
                    round(greatest(0.65 * t.quantity, 0.50), 2), round(t.entry_price * 0.005 * t.quantity * 100, 2),
                    coalesce(t.entered_at, t.created_at));
            if t.state = 'exited' then
                insert into public.trade_fills (trade_id, user_id, side, contracts, price, fee, slippage, at)
                values (t.id, t.user_id, 'sell', t.quantity, t.exit_price,
                        round(greatest(0.65 * t.quantity, 0.50), 2), round(t.exit_price * 0.005 * t.quantity * 100, 2),
                        coalesce(t.exited_at, t.updated_at));
            end if;
        elsif first_buy is not null then
            -- The entry is the first fill again; adds no longer re-average it.
            update public.trades set entry_price = first_price, quantity = first_buy::integer
            where id = t.id and (entry_price, quantity) is distinct from (first_price, first_buy::integer);
        end if;
    end loop;
end
$$;

-- Trims are now percentages of the contracts open at that moment: several may add up past 100.
-- The ledger's own trigger is what keeps a trade from selling more than it holds.
drop trigger if exists trade_updates_trim_total on public.trade_updates;
drop function if exists public.trade_updates_trim_total();

-- The P&L lives in the fills; these summaries of the old trim arithmetic go.
alter table public.trades drop column if exists trimmed_percent;
alter table public.trades drop column if exists realized_percent;

-- Adjusted contracts carry a digit in their root (SPY1 after a corporate action): one OCC grammar,
-- letters and digits, as in shared/symbols.py.
alter table public.trades drop constraint if exists trades_underlying_check;
alter table public.trades drop constraint if exists trades_underlying_is_a_root;
alter table public.trades add constraint trades_underlying_is_a_root
    check (underlying ~ '^[A-Z][A-Z0-9]{0,5}$');
alter table public.trades drop constraint if exists trades_underlying_of_ticker;
alter table public.trades add constraint trades_underlying_of_ticker check (
    underlying in (replace(ticker, '.', ''), ticker || 'W', ticker || 'P')
    or (left(underlying, -1) = replace(ticker, '.', '') and right(underlying, 1) ~ '^[0-9]$')
);
