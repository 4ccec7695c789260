-- events whose client clock (sent_at) is off the server's (received_at) by more than the tolerance
select week, file, line, epoch(received_at) - epoch(sent_at) as offset_seconds
from _checked
where week >= cast($week_start as date) and week < cast($week_end as date)
  and sent_at is not null and received_at is not null
  and abs(epoch(received_at) - epoch(sent_at)) > $tolerance_seconds
