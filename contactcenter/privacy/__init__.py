"""A customer's rights over their data: export everything held (GDPR art. 15, PIPL art. 45),
erase it on request (GDPR art. 17, PIPL art. 47), and redact old texts after a retention period.

The figures stay: erasure and retention blank what identifies or quotes a person and keep the
shells (tickets with their times, queues and states; interactions with their channel, direction,
times and numeric metadata), so reports over past months do not change when a customer leaves.
"""
