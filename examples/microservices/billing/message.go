package main

// Message is the `message` field of the GET / response. Tests and demos
// edit this one line to see a change reach the running service.
const Message = "hello from billing"
