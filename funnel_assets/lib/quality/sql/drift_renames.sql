-- likely renames: a required field missing from a line that carries an unknown field instead
select m.version, m.field as from_field, a.field as to_field, count(*) as lines
from _drift as m
join _drift as a on a.file = m.file and a.line = m.line and a.change = 'added'
where m.change = 'missing'
group by all
order by lines desc
