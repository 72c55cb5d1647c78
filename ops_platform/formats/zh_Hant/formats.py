# Group thousands with commas, as Chinese business reports do (Django leaves them ungrouped).
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
