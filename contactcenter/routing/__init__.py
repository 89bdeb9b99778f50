"""Where work goes and how urgent it is: rules, business calendars, SLA clocks, presence, assignment."""
