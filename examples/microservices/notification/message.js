// The `message` field of the GET / response. Tests and demos edit this one
// line to see a change reach the running service.
module.exports = 'hello from notification';
