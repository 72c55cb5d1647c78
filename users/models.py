# End customers of the platform (user operations) are built from events in a later step; until then
# the dashboard counts customers through analytics selectors.
