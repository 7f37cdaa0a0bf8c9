[% for route in routes %][[ route ]]
[% endfor %]
