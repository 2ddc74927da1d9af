"""EU Digital Services Act statements of reasons (Art. 17, Art. 24(5)): built from
decisions, stored in the decision's transaction, submitted to the Transparency Database."""
