"""The technician's tools: enrol a terminal, self-test its hardware, personalise and register cards."""
