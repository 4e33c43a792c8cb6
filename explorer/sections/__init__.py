"""The pages' sections: each page file reads top to bottom as calls to one of these modules."""
