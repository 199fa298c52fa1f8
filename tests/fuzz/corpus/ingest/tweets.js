window.YTD.tweets.part0 = [ {
  "tweet" : {
    "id_str" : "1345",
    "full_text" : "Hello &amp; welcome @bob https://t.co/x #tag",
    "created_at" : "Sat Jan 02 10:00:00 +0000 2021",
    "lang" : "en",
    "in_reply_to_status_id_str" : "12"
  }
}, {"tweet": {"id": 99, "full_text": "RT @x: second"}} ]
