"""SMS consent for grades 5–11: one request per parent per campaign, replies, reminder, closing."""
