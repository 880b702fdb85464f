-- Supabase grants `anon` and `authenticated` ALL on new tables in `public` by default, including
-- TRUNCATE, REFERENCES and TRIGGER, which row-level security does not govern. Users need none of
-- them: take them back on every table we own, now and for tables later migrations create.

revoke truncate, references, trigger on all tables in schema public from anon, authenticated;

alter default privileges in schema public
    revoke truncate, references, trigger on tables from anon, authenticated;
