-- Why a control's SQL could not be judged for a day (it failed on the data, or returned rows without a valid status
-- or a reason); NULL when it was judged. The verdict is then unknown, never pass.
ALTER TABLE control_verdicts ADD COLUMN error VARCHAR;
