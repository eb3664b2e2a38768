"""Parents' feedback: ratings of served meals and complaints routed to the district admin."""
