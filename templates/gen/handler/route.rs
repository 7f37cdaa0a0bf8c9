[[ route ]]
